# rma.mh(), rma.peto() and regtest(predictor = "ninv") references (metafor 3.8-1, metadat):
#   Rscript binary_mh.R > binary_mh.json
# for tests/analysis/test_binary_metafor.py and tests/analysis/test_bias_meta.py.
# Data sets: dat.bcg, dat.nielweise2007 (zero cells, one double-zero study), dat.yusuf1985
# table 9 (complete rows: 11 tables with a zero cell, 6 double-zero) and a toy set with a
# double-zero, a double-all-events and a single-zero table.
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
y9 <- subset(dat.yusuf1985, table == "9" & !is.na(ai) & !is.na(ci))
sets <- list(
  bcg = data.frame(study = paste(dat.bcg$author, dat.bcg$year), ai = dat.bcg$tpos,
                   bi = dat.bcg$tneg, ci = dat.bcg$cpos, di = dat.bcg$cneg),
  nielweise2007 = with(dat.nielweise2007, data.frame(study = paste(author, year), ai = ai,
                   bi = n1i - ai, ci = ci, di = n2i - ci)),
  yusuf1985_9 = with(y9, data.frame(study = as.character(trial), ai = ai, bi = n1i - ai,
                   ci = ci, di = n2i - ci)),
  toy = data.frame(study = c("A", "B", "C", "D", "E"), ai = c(0, 5, 10, 3, 8),
                   bi = c(10, 15, 0, 12, 30), ci = c(0, 7, 10, 0, 14), di = c(12, 13, 0, 14, 26)))
num <- function(x) if (is.null(x)) NA else as.numeric(x)
rec <- function(r) list(b = num(r$beta), se = num(r$se), zval = num(r$zval), pval = num(r$pval),
  ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub), QE = r$QE, QEp = r$QEp, I2 = r$I2, H2 = r$H2,
  k = r$k, k_yi = r$k.yi, k_pos = num(r$k.pos), CO = num(r$CO), COp = num(r$COp),
  MH = num(r$MH), MHp = num(r$MHp), BD = num(r$BD), BDp = num(r$BDp), TA = num(r$TA),
  TAp = num(r$TAp), yi = as.numeric(r$yi), vi = as.numeric(r$vi),
  ll_ml = r$fit.stats["ll", "ML"], ll_reml = r$fit.stats["ll", "REML"])
variants <- list(
  default = list(),
  both = list(add = c(1/2, 1/2), to = c("only0", "only0"), drop00 = c(TRUE, TRUE),
              correct = FALSE, level = 90),
  all_none = list(add = c(1/2, 0), to = c("all", "none"), drop00 = c(FALSE, FALSE)))
out <- list()
for (nm in names(sets)) {
  d <- sets[[nm]]
  out[[nm]] <- list(data = as.list(d))
  for (v in names(variants)) {
    for (m in c("OR", "RR", "RD")) {
      args <- c(list(ai = d$ai, bi = d$bi, ci = d$ci, di = d$di, measure = m), variants[[v]])
      args$correct <- NULL
      if (!is.null(variants[[v]]$correct)) args$correct <- variants[[v]]$correct
      r <- suppressWarnings(try(do.call(rma.mh, args), silent = TRUE))
      out[[nm]][[paste("mh", m, v, sep = "_")]] <- if (inherits(r, "try-error"))
        list(error = conditionMessage(attr(r, "condition"))) else rec(r)
    }
    pargs <- c(list(ai = d$ai, bi = d$bi, ci = d$ci, di = d$di), variants[[v]])
    pargs$correct <- NULL
    r <- suppressWarnings(try(do.call(rma.peto, pargs), silent = TRUE))
    out[[nm]][[paste("peto", v, sep = "_")]] <- if (inherits(r, "try-error"))
      list(error = conditionMessage(attr(r, "condition"))) else rec(r)
  }
  # Peters' test as metafor offers it: regtest(model = "lm", predictor = "ninv") on log OR
  # (escalc defaults: 1/2 added to tables with a zero cell)
  es <- escalc("OR", ai = d$ai, bi = d$bi, ci = d$ci, di = d$di)
  fitor <- rma(yi, vi, data = es, method = "EE")
  for (pred in c("ninv", "sqrtninv", "ni")) {
    rt <- regtest(fitor, model = "lm", predictor = pred)
    cf <- coef(summary(rt$fit))
    out[[nm]][[paste0("regtest_", pred)]] <- list(zval = rt$zval, pval = rt$pval, dfs = rt$dfs,
      est = as.numeric(rt$est), ci_lb = as.numeric(rt$ci.lb), ci_ub = as.numeric(rt$ci.ub),
      coef = as.numeric(cf[, 1]), se = as.numeric(cf[, 2]), sigma = summary(rt$fit)$sigma)
  }
}
out$versions <- list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                     metadat = as.character(packageVersion("metadat")))
cat(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"))
