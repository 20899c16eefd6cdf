# meta's Harbord and Peters tests, computed as meta 8.4-0's metabias() does (its linregcore():
# rma.uni(TE, sei, ni = covar, test = "t") then regtest(model = "lm")), but with metafor 3.8-1
# alone (meta is not installed here):  Rscript metabias_meta.R > metabias_meta.json
# for tests/analysis/test_bias_meta.py. TE is meta's study log OR (1/2 added to the four cells
# of zero-cell tables; tables without events, or with only events, in both groups left out),
# which is escalc("OR", drop00 = TRUE) without the NA rows.
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
y9 <- subset(dat.yusuf1985, table == "9" & !is.na(ai) & !is.na(ci))
sets <- list(
  bcg = with(dat.bcg, data.frame(ee = tpos, ne = tpos + tneg, ec = cpos, nc = cpos + cneg)),
  nielweise2007 = with(dat.nielweise2007, data.frame(ee = ai, ne = n1i, ec = ci, nc = n2i)),
  yusuf1985_9 = with(y9, data.frame(ee = ai, ne = n1i, ec = ci, nc = n2i)))
lreg <- function(TE, seTE, covar = NULL) {
  rma1 <- if (is.null(covar)) rma.uni(TE, sei = seTE, method = "REML", test = "t") else
    rma.uni(TE, sei = seTE, ni = covar, method = "REML", test = "t")
  reg <- regtest(rma1, predictor = if (is.null(covar)) "sei" else "ni", model = "lm")
  cf <- coef(summary(reg$fit))
  list(intercept = cf[1, 1], se_intercept = cf[1, 2], bias = cf[2, 1], se_bias = cf[2, 2],
       statistic = cf[2, 1] / cf[2, 2], df = reg$dfs,
       pval = 2 * pt(abs(cf[2, 1] / cf[2, 2]), df = reg$dfs, lower.tail = FALSE),
       tau = summary(reg$fit)$sigma)
}
out <- list()
for (nm in names(sets)) {
  d <- as.data.frame(lapply(sets[[nm]], as.numeric))  # meta's int2num()
  es <- escalc("OR", ai = d$ee, n1i = d$ne, ci = d$ec, n2i = d$nc, drop00 = TRUE)
  sel <- !is.na(es$yi)
  d <- d[sel, ]; TE <- as.numeric(es$yi[sel])
  with(d, {
    Z <- ee - (ee + ec) * ne / (ne + nc)
    V <- ne * nc * (ee + ec) * (ne - ee + nc - ec) / ((ne + nc)^2 * ((ne + nc) - 1))
    Zr <- (ee * (ne + nc) - (ee + ec) * ne) / (ne - ee + nc - ec)
    Vr <- (ne + nc) / 4 * (ee + ec) / (ne - ee + nc - ec)
    out[[nm]] <<- list(
      data = as.list(d), TE = TE,
      harbord_OR = lreg(Z / V, 1 / sqrt(V)),
      harbord_RR = lreg(Zr / Vr, 1 / sqrt(Vr)),
      peters = lreg(TE, sqrt(1 / (ee + ec) + 1 / (ne - ee + nc - ec)), 1 / (ne + nc)))
  })
}
out$versions <- list(R = R.version.string, metafor = as.character(packageVersion("metafor")))
cat(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"))
