# rma.glmm(measure = "PLO") of metafor 3.8-1 (lme4 1.1-31, Debian packages) on three metadat
# proportion sets, for tests/analysis/test_glmm_reference.py. Run in extra/:
#   Rscript glmm_prop.R > glmm_prop.json
# Defaults: method = "ML" uses lme4::glmer with nAGQ = 7 (rma.glmm's default), "EE" is glm().
# ML_tight: the ML fit with bobyqa run to rhoend = 1e-13. Also nAGQ = 1 (Laplace), and metafor's escalc() of PFT, PAS, PLN with transf.ipft.hm.
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
num <- function(x) sprintf("%.17g", x)
sets <- list(
  pritz1997 = dat.pritz1997[, c("xi", "ni")],
  debruin2009 = dat.debruin2009[, c("xi", "ni")],
  hasselblad1998 = dat.hasselblad1998[, c("xi", "ni")]
)
fitout <- function(r) {
  list(b = num(c(r$b)), se = num(r$se), zval = num(r$zval), pval = num(r$pval),
       ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub), tau2 = num(r$tau2),
       QE_Wld = num(r$QE.Wld), QEp_Wld = num(r$QEp.Wld), QE_LRT = num(r$QE.LRT),
       QEp_LRT = num(r$QEp.LRT), QE_df = r$QE.df, I2 = num(r$I2), H2 = num(r$H2), vt = num(r$vt),
       ll = num(r$fit.stats["ll", "ML"]), dev = num(r$fit.stats["dev", "ML"]),
       AIC = num(r$fit.stats["AIC", "ML"]))
}
out <- list()
for (nm in names(sets)) {
  d <- sets[[nm]]
  ml <- rma.glmm(measure = "PLO", xi = xi, ni = ni, data = d)
  la <- rma.glmm(measure = "PLO", xi = xi, ni = ni, data = d, nAGQ = 1)
  ee <- rma.glmm(measure = "PLO", xi = xi, ni = ni, data = d, method = "EE")
  # the same ML fit with lme4's optimiser run to convergence (bobyqa, rhoend = 1e-13)
  tight <- rma.glmm(measure = "PLO", xi = xi, ni = ni, data = d, control = list(
    glmerCtrl = list(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-13, maxfun = 1e5))))
  pft <- escalc("PFT", xi = xi, ni = ni, data = d)
  pas <- escalc("PAS", xi = xi, ni = ni, data = d)
  pln <- escalc("PLN", xi = xi, ni = ni, data = d)
  rp <- rma(yi, vi, data = pft)
  out[[nm]] <- list(
    xi = d$xi, ni = d$ni,
    ML = fitout(ml), ML_tight = fitout(tight), ML_nAGQ1 = fitout(la), EE = fitout(ee),
    PFT = list(yi = num(pft$yi), vi = num(pft$vi)),
    PAS = list(yi = num(pas$yi), vi = num(pas$vi), back = num(transf.iarcsin(pas$yi))),
    PLN = list(yi = num(pln$yi), vi = num(pln$vi)),
    PFT_ipft = num(transf.ipft(pft$yi, d$ni)),
    PFT_rma_b = num(c(rp$b)), PFT_rma_ci = num(c(rp$ci.lb, rp$ci.ub)),
    PFT_ipft_hm = num(transf.ipft.hm(c(c(rp$b), rp$ci.lb, rp$ci.ub), targs = list(ni = d$ni)))
  )
}
# Sparse edge cases (made up): zero and all-event studies, tau2 at 0 and large tau2.
edge <- list(edge_zero_tau2 = list(xi = c(0, 0, 0, 1), ni = c(10, 20, 30, 40)),
             edge_zero_and_all = list(xi = c(0, 5, 10), ni = c(10, 10, 10)),
             edge_sparse = list(xi = c(0, 1, 0, 2, 50), ni = c(30, 30, 30, 30, 60)))
for (nm in names(edge)) {
  d <- edge[[nm]]
  ml <- suppressWarnings(rma.glmm(measure = "PLO", xi = d$xi, ni = d$ni))
  tight <- suppressWarnings(rma.glmm(measure = "PLO", xi = d$xi, ni = d$ni, control = list(
    glmerCtrl = list(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-13, maxfun = 1e5)))))
  out[[nm]] <- list(xi = d$xi, ni = d$ni, ML = fitout(ml), ML_tight = fitout(tight))
}
out$versions <- list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                     lme4 = as.character(packageVersion("lme4")),
                     metadat = as.character(packageVersion("metadat")))
cat(toJSON(out, auto_unbox = TRUE, pretty = TRUE, na = "null"))
