# influence() of meta-regressions (metafor 3.8-1, Debian's r-cran-metafor), for
# tests/analysis/test_influence_mods.py. Run: Rscript influence_mods.R > influence_mods.json (in extra/)
library(metafor)
library(jsonlite)
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
fits <- list(
  "bcg-RR-ablat+year-REML" = rma(yi, vi, mods = ~ ablat + year, data = dat, method = "REML"),
  "bcg-RR-ablat-DL" = rma(yi, vi, mods = ~ ablat, data = dat, method = "DL"),
  "bcg-RR-ablat-FE" = rma(yi, vi, mods = ~ ablat, data = dat, method = "FE")
)
out <- lapply(fits, function(res) {
  inf <- influence(res)
  list(yi = as.numeric(dat$yi), vi = as.numeric(dat$vi), ablat = dat$ablat, year = dat$year,
       rstudent = inf$inf$rstudent, dffits = inf$inf$dffits, cook.d = inf$inf$cook.d,
       cov.r = inf$inf$cov.r, tau2.del = inf$inf$tau2.del, QE.del = inf$inf$QE.del,
       hat = inf$inf$hat, weight = inf$inf$weight, dfbs = unname(as.matrix(inf$dfbs)),
       is.infl = unname(inf$is.infl))
})
cat(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE))
