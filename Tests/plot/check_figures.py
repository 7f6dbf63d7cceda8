#!/usr/bin/env python3
"""Checks the SVG figures Scripts/plot wrote: each parses as XML, is an SVG with a fixed size,
carries the axis labels and legend entries its figure must show (matplotlib keeps the source of
every text it draws as paths in a comment just before it), and has no date in its metadata.
With --docs DIR, also checks that the pages of DIR link exactly the figures of DIR/figures.

Usage: check_figures.py FIGURE_DIR [--docs docs]
Prints one line per problem and exits 1 if there is any; prints a summary otherwise.
"""
import os
import re
import sys
import xml.etree.ElementTree as ET

# Per figure: texts (axis labels, titles, legend entries) that must be drawn.
EXPECTED = {
    "01-score-functions-stein": ["entry (row-major)", "entry of the moment", r"closed form $E[\nabla^m G]$",
                                 "estimate ± k·se", r"$\hat E[G \otimes S_4(x[n], t)]$"],
    "01-score-functions-locality": ["relative change of $S_m(x[n], t)$", "distance $d = |s - t|$ of the moved inputs",
                                    "its rounding bound", "$S_1$: relative change"],
    "02-glm-whitening": [r"weight $w_j = \lambda_j\,(\theta \cdot b_j)$", r"orthonormality defect $\|VV^\top - I\|_F$",
                         "sign balance", "component j", "mixed signs ("],
    "02-glm-directions": ["samples N", r"$\sin\angle(a_j, \hat a_j)$", r"$N^{-1/2}$ guide",
                          "entry of the true unit direction", "entry of the recovered", "recovered = true"],
    "02-glm-scale": ["1 − factor match score of A1", "residual / sampling error", "sampling error (noise floor)",
                     "refined ALS (spectral starts)", "dx = dy = 16, dh = 12"],
    "03-quadratic-iornn-errors-against-N": ["training windows N", "relative error after alignment",
                                            "prediction error on fresh windows", r"$N^{-1/2}$ guide", "$U$: slope"],
    "03-quadratic-iornn-fourth-order": ["entry of the form", r"entry of $\hat E[y_t \otimes S_4(x[n], t-1)]$",
                                        "against the true form", "against the printed form", "printed form (0 for every c)",
                                        "projection ÷ its pilot se"],
    "04-polynomial-errors-against-N": ["training windows N", "relative error after alignment",
                                       "prediction error on fresh windows", r"$N^{-1/2}$ guide", "$U$: slope"],
    "04-polynomial-sample-complexity": ["row norm of $A_1$", "windows N for a 10% U error", "the U moment's noise per window",
                                        "$l = 3$ (cubic, order-5 score)"],
    "05-bidirectional-errors-against-N": ["training windows N", "relative error after alignment",
                                          "prediction error on fresh windows", r"$N^{-1/2}$ guide", "$V$: slope", "$B_1$: slope"],
    "05-bidirectional-assignment": ["recovered component (true side)", "t−1 moment (forward units)", "t+1 moment (backward units)",
                                    "normal score z", "a side counts at z ≥ 4", "the assignment against N", "refused"],
    "06-concentration-deviation-against-n": ["steps n of the chain", "measured median", "printed bound (eq. 19's c), slope",
                                             "corrected bound (both terms of c over n), slope", "one replication (R = "],
    "06-concentration-lipschitz": ["steps n of the window", "Lipschitz constant", "Euclidean metric (Definition 2)",
                                   "Hamming metric (one step changed)", "the remark's form (20, 16)"],
    "06-concentration-mixing": ["measured median deviation", "relative to", "mixing: measured growth and the bound's"],
    "06-concentration-lemma10": ["lag t − i", "max, assumptions hold", "max, Gaussian input", "the bound"],
    # "spectral + Adam (fit --refine)": an SVG comment may not hold "--" (matplotlib writes "- -").
    "07-spectral-vs-gradient-error-against-time": ["wall time (s), observations excluded", "plain BPTT from a random start",
                                                   "safeguarded BPTT (clipped, divergent minibatches skipped)",
                                                   "spectral + Adam (fit ", "spectral + L-BFGS (full batch)",
                                                   "Adam from the truth (Adam's reference)", "L-BFGS from the truth (L-BFGS's reference)", "the spectral estimate (GLOREE, one run)"],
}
for walkthrough in ["01-score-functions", "02-glm", "03-quadratic-iornn", "04-polynomial", "05-bidirectional", "06-concentration"]:
    EXPECTED[f"{walkthrough}-checks"] = ["distance from the estimate, in standard errors σ", "statistical verdict",
                                         "band k (claim held within it", "check: its nearest alternative"]


def texts(path):
    """The parsed SVG root and the text of every comment in it."""
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    with open(path, "rb") as handle:
        root = ET.fromstring(handle.read(), parser=parser)
    comments = [node.text.strip() for node in root.iter() if node.tag is ET.Comment and node.text]
    return root, comments


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[-2], file=sys.stderr)
        return 2
    folder = argv[1]
    docs = argv[argv.index("--docs") + 1] if "--docs" in argv else None
    problems = []
    present = sorted(f[:-4] for f in os.listdir(folder) if f.endswith(".svg"))
    for name in sorted(set(EXPECTED) - set(present)):
        problems.append(f"{name}.svg: missing")
    for name in sorted(set(present) - set(EXPECTED)):
        problems.append(f"{name}.svg: written, but no check knows what it must show")
    for name in sorted(set(present) & set(EXPECTED)):
        path = os.path.join(folder, name + ".svg")
        try:
            root, comments = texts(path)
        except ET.ParseError as error:
            problems.append(f"{name}.svg: not well-formed XML ({error})")
            continue
        if root.tag != "{http://www.w3.org/2000/svg}svg":
            problems.append(f"{name}.svg: the root element is {root.tag}, not svg")
            continue
        width = root.get("width", "")
        if not re.fullmatch(r"[0-9.]+pt", width) or not 400 <= float(width[:-2]) <= 900:
            problems.append(f"{name}.svg: width {width!r}, expected 400–900 pt (readable at a page's width)")
        joined = "\n".join(comments)
        for label in EXPECTED[name]:
            if label not in joined:
                problems.append(f"{name}.svg: does not draw {label!r}")
        with open(path, encoding="utf-8") as handle:
            raw = handle.read()
        if "<dc:date>" in raw:
            problems.append(f"{name}.svg: carries a date in its metadata (figures must not change without a change in the data)")
    if docs:
        linked = set()
        for page in sorted(os.listdir(docs)):
            if page.endswith(".md"):
                with open(os.path.join(docs, page), encoding="utf-8") as handle:
                    for target in re.findall(r"!\[[^\]]*\]\((figures/[^)]+)\)", handle.read()):
                        linked.add(target)
                        if not os.path.isfile(os.path.join(docs, target)):
                            problems.append(f"{docs}/{page}: links {target}, which does not exist")
        committed = {f"figures/{f}" for f in os.listdir(os.path.join(docs, "figures")) if f.endswith(".svg")}
        for target in sorted(committed - linked):
            problems.append(f"{docs}/{target}: no page links it")
        for name in sorted(EXPECTED):
            if f"figures/{name}.svg" not in linked:
                problems.append(f"{docs}: no page links figures/{name}.svg")
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"{len(present)} figures parse and draw their {sum(len(v) for v in EXPECTED.values())} labels"
          + (f"; the pages of {docs} link each of its figures" if docs else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
