# metafor 3.8-1: escalc("SMD") with vtype = "LS" (default) and "UB" on dat.normand1999.
# Run from this folder: Rscript smd_ub.R  (writes smd_ub.json)
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
stopifnot(as.character(packageVersion("metafor")) == "3.8.1")
dat <- dat.normand1999
num <- function(x) I(sprintf("%.17g", x))
out <- list(versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor"))),
            data = list(source = dat$source, n1i = dat$n1i, m1i = dat$m1i, sd1i = dat$sd1i,
                        n2i = dat$n2i, m2i = dat$m2i, sd2i = dat$sd2i))
for (vt in c("LS", "UB")) {
  es <- escalc("SMD", n1i = n1i, m1i = m1i, sd1i = sd1i, n2i = n2i, m2i = m2i, sd2i = sd2i,
               data = dat, vtype = vt)
  out[[vt]] <- list(yi = num(as.numeric(es$yi)), vi = num(as.numeric(es$vi)))
}
txt <- toJSON(out, auto_unbox = TRUE, pretty = TRUE)
txt <- gsub("\"(-?[0-9]+(\\.[0-9]+)?(e[+-]?[0-9]+)?)\"", "\\1", txt)  # %.17g strings as JSON numbers
writeLines(txt, "smd_ub.json")
