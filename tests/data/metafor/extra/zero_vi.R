# rma() with zero sampling variances (metafor 3.8-1): Rscript zero_vi.R > zero_vi.json
# for tests/analysis/test_zero_vi.py; DL, PM, HS and FE refuse, the others fit with QE, I2, H2 = NA.
library(metafor); library(jsonlite)
dat <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
v2 <- dat$vi; v2[c(2,5)] <- 0
cases <- list(all_zero = rep(0, 13), two_zero = as.numeric(v2))
out <- list(yi = as.numeric(dat$yi), ablat = dat$ablat)
for (nm in names(cases)) {
  for (m in c("REML","ML","HE","SJ","EB","DL","PM","HS","FE")) {
    for (mods in c("none", "ablat")) {
      key <- paste(nm, m, mods, sep="-")
      r <- suppressWarnings(try(if (mods == "none") rma(dat$yi, cases[[nm]], method=m) else rma(dat$yi, cases[[nm]], mods=~dat$ablat, method=m), silent=TRUE))
      if (inherits(r, "try-error")) { out[[key]] <- list(error = conditionMessage(attr(r, "condition"))); next }
      out[[key]] <- list(vi = cases[[nm]], b = as.numeric(r$b), se = as.numeric(r$se), tau2 = r$tau2,
        QE = r$QE, I2 = r$I2, H2 = r$H2, ll_ml = r$fit.stats["ll","ML"], ll_reml = r$fit.stats["ll","REML"],
        dev_ml = r$fit.stats["dev","ML"], pi_lb = predict(r)$pi.lb[1], pi_ub = predict(r)$pi.ub[1])
    }
  }
}
cat(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"))
