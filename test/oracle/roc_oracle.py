#!/usr/bin/python3
"""ROC oracle: pgscreen's metrics kernels against scikit-learn, NumPy and SciPy on the same data.

Run with Debian's Python (/usr/bin/python3: numpy, scikit-learn, scipy, mpmath). Usage: roc_oracle.py [PGS_ROC_TOOL]
- AUC and ROC points against sklearn.metrics.roc_auc_score / roc_curve, on data with many ties;
- DeLong's variance and the paired test against a direct O(m·n) NumPy implementation of DeLong et al. (1988);
- operating points against a search over sklearn's curve;
- Clopper-Pearson intervals, the incomplete beta function and its inverse against scipy.stats.beta, and
  beyond where scipy (Boost) keeps 1e-9 (shapes over 1e6), against 60-digit mpmath evaluations;
- the stratified bootstrap: reproducible per seed, its standard error beside DeLong's and NumPy's bootstrap,
  and the coverage of its 95 % interval (and DeLong's) on simulated binormal data with a known AUC;
- the SVG plot: well-formed XML that rsvg-convert renders.
Exact quantities must agree to 1e-9 (relative) or better; the worst disagreement of each check is printed.
"""
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import mpmath as mp
import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score, roc_curve

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "build/test/tools/pgs_roc")
TOL = 1e-9
failures = 0
passed = 0


def check(ok, what):
    global failures, passed
    if ok:
        passed += 1
        print(f"ok - {what}")
    else:
        failures += 1
        print(f"FAILED - {what}")


def rel_err(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))) if a.size else 0.0


def write_data(path, scores, labels, scores_b=None):
    with open(path, "wb") as f:
        f.write(np.uint64(len(scores)).tobytes())
        f.write(np.asarray(scores, dtype="<f8").tobytes())
        if scores_b is not None:
            f.write(np.asarray(scores_b, dtype="<f8").tobytes())
        f.write(np.asarray(labels, dtype=np.uint8).tobytes())


def tool(*args, stdin=None):
    return subprocess.run([TOOL, *map(str, args)], check=True, capture_output=True, text=True, input=stdin).stdout


def summary(path, level=0.95):
    out = {}
    for line in tool("summary", path, level).splitlines():
        key, value = line.split()
        out[key] = float(value)
    return out


def delong_reference(pos, neg):
    """DeLong et al. 1988 directly: psi over all m·n pairs, structural components, their sample variances."""
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    v10 = np.empty(len(pos))
    for start in range(0, len(pos), 512):  # bounded memory for large m·n
        x = pos[start:start + 512, None]
        v10[start:start + 512] = ((x > neg[None, :]) + 0.5 * (x == neg[None, :])).mean(axis=1)
    v01 = np.empty(len(neg))
    for start in range(0, len(neg), 512):
        y = neg[None, start:start + 512]
        v01[start:start + 512] = ((pos[:, None] > y) + 0.5 * (pos[:, None] == y)).mean(axis=0)
    return v10, v01


def delong_variance(pos, neg):
    v10, v01 = delong_reference(pos, neg)
    return v10.mean(), v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)


def datasets(rng):
    """Score/label sets with the ties and extremes real result tables have."""
    sets = {}
    y = rng.random(500) < 0.3
    sets["continuous, n=500"] = (rng.normal(size=500) + y, y)
    y = rng.random(2000) < 0.25
    sets["rounded to 0.1 (heavy ties), n=2000"] = (np.round(rng.normal(size=2000) + 0.8 * y, 1), y)
    y = rng.random(3000) < 0.4
    sets["grades 0-4 (five scores), n=3000"] = (np.clip(np.round(rng.normal(2, 1, 3000) + y), 0, 4), y)
    y = rng.random(20000) < 0.2
    logits = rng.normal(size=20000) + 1.5 * y
    sets["float32 sigmoid outputs, n=20000"] = ((1 / (1 + np.exp(-logits))).astype(np.float32).astype(float), y)
    y = rng.random(10000) < 0.01
    sets["1% prevalence, n=10000"] = (np.round(rng.normal(size=10000) + 2 * y, 2), y)
    sets["two cases, tied"] = (np.array([0.5, 0.5]), np.array([True, False]))
    sets["all scores equal"] = (np.full(50, 0.25), np.arange(50) % 3 == 0)
    sets["perfect separation"] = (np.arange(100, dtype=float), np.arange(100) >= 60)
    sets["reversed (AUC 0)"] = (np.arange(100, dtype=float), np.arange(100) < 30)
    y = rng.random(400) < 0.5
    extremes = np.array([-0.0, 0.0, 5e-324, -5e-324, 1e300, -1e300, 1.0, -1.0])
    sets["signed zeros, denormals, 1e300"] = (extremes[rng.integers(0, 8, 400)], y)
    return sets


def check_auc_and_curve(tmp, rng):
    for name, (scores, labels) in datasets(rng).items():
        path = os.path.join(tmp, "d.bin")
        write_data(path, scores, labels)
        s = summary(path)
        ref = roc_auc_score(labels, scores)
        check(abs(s["auc"] - ref) <= TOL * max(ref, 1e-3), f"AUC {name}: {s['auc']:.15f} vs sklearn {ref:.15f}")
        check(s["distinct"] == len(np.unique(np.where(scores == 0, 0.0, scores))),
              f"AUC {name}: {int(s['distinct'])} distinct scores")

        fpr, tpr, thr = roc_curve(labels, scores, drop_intermediate=False)
        ours = np.array([[float(v) for v in line.split()] for line in tool("curve", path).splitlines()])
        m, n = labels.sum(), (~labels).sum()
        same_thresholds = len(ours) == len(thr) and np.array_equal(ours[1:, 0], thr[1:]) and ours[0, 0] == np.inf
        same_points = len(ours) == len(thr) and np.allclose(ours[:, 1] / m, tpr, rtol=0, atol=1e-15) \
            and np.allclose(ours[:, 2] / n, fpr, rtol=0, atol=1e-15)
        check(same_thresholds and same_points, f"curve {name}: {len(ours)} points, thresholds and (fpr, tpr) "
              "equal to sklearn's roc_curve")

        if 2 <= m and 2 <= n and len(scores) <= 20000:
            auc, var = delong_variance(scores[labels], scores[~labels])
            err = rel_err(s["variance"], var)
            check(err <= TOL, f"DeLong variance {name}: {s['variance']:.6e}, O(m·n) NumPy {var:.6e}, "
                  f"rel. error {err:.1e}")


def check_operating_points(tmp, rng):
    y = rng.random(5000) < 0.3
    scores = np.round(rng.normal(size=5000) + 1.2 * y, 2)
    path = os.path.join(tmp, "op.bin")
    write_data(path, scores, y)
    fpr, tpr, thr = roc_curve(y, scores, drop_intermediate=False)
    thr = thr.copy()
    thr[0] = np.inf
    worst = []
    for target in [0.0, 0.5, 0.8, 0.9, 0.95, 0.975, 0.99, 1.0]:
        t, tp, fp, tn, fn = (float(v) for v in tool("point", path, "sensitivity", target).split())
        want = thr[np.argmax(tpr >= target)]  # first (highest) threshold reaching the target
        worst.append(t == want and tp == round(tpr[np.argmax(tpr >= target)] * y.sum()))
        t, tp, fp, tn, fn = (float(v) for v in tool("point", path, "specificity", target).split())
        ok = np.nonzero(1 - fpr >= target)[0]
        want = thr[ok[-1]]  # last (lowest) threshold keeping the target
        worst.append(t == want and tn == round((1 - fpr[ok[-1]]) * (~y).sum()))
        t, tp, fp, tn, fn = (float(v) for v in tool("confusion", path, want).split())
        worst.append(tp == ((scores >= want) & y).sum() and fp == ((scores >= want) & ~y).sum())
    check(all(worst), f"operating points for 8 sensitivity and 8 specificity targets, and confusion at each "
          "threshold, match a search over sklearn's roc_curve")


def check_paired(tmp, rng):
    for name, m, n, ties in [("continuous", 300, 700, None), ("rounded (ties)", 800, 1600, 1),
                             ("correlated models", 1500, 3500, None)]:
        y = np.r_[np.ones(m, bool), np.zeros(n, bool)]
        rng.shuffle(y)
        a = rng.normal(size=m + n) + 1.0 * y
        b = 0.7 * a + 0.7 * rng.normal(size=m + n) + 0.3 * y
        if ties is not None:
            a, b = np.round(a, ties), np.round(b, ties)
        path = os.path.join(tmp, "pairs.bin")
        write_data(path, a, y, b)
        auc_a, auc_b, var_a, var_b, cov = (float(v) for v in tool("compare", path).split())
        va10, va01 = delong_reference(a[y], a[~y])
        vb10, vb01 = delong_reference(b[y], b[~y])
        s10 = np.cov(np.vstack([va10, vb10]))
        s01 = np.cov(np.vstack([va01, vb01]))
        s = s10 / m + s01 / n
        ours = np.array([auc_a, auc_b, var_a, var_b, cov])
        ref = np.array([va10.mean(), vb10.mean(), s[0, 0], s[1, 1], s[0, 1]])
        err = rel_err(ours, ref)
        check(err <= TOL, f"paired DeLong {name}: AUCs, variances and covariance equal the O(m·n) NumPy "
              f"reference (worst rel. error {err:.1e})")
        z_ours = (auc_a - auc_b) / np.sqrt(var_a + var_b - 2 * cov)
        z_ref = (ref[0] - ref[1]) / np.sqrt(s[0, 0] + s[1, 1] - 2 * s[0, 1])
        check(abs(z_ours - z_ref) <= 1e-9 * max(1, abs(z_ref)), f"paired DeLong {name}: z = {z_ours:.6f}")


def mp_beta_inc(a, b, x):
    """I_x(a, b) at 60 digits: the DLMF 8.17.22 continued fraction with mpmath's loggamma (reference only)."""
    mp.mp.dps = 60
    a, b, x = mp.mpf(a), mp.mpf(b), mp.mpf(x)
    y = 1 - x
    if x >= (a + 1) / (a + b + 2):
        return 1 - mp_beta_inc(b, a, y)

    def fraction(a, b, x):
        c, d = mp.mpf(1), 1 / (1 - (a + b) * x / (a + 1))
        h = d
        for m in range(1, 10 ** 6):
            for coef in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                         -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
                d = 1 / (1 + coef * d)
                c = 1 + coef / c
                h *= d * c
            if abs(d * c - 1) < mp.mpf(10) ** -50:
                return h
        raise RuntimeError("no convergence")

    log_front = a * mp.log(x) + b * mp.log(y) - mp.loggamma(a) - mp.loggamma(b) + mp.loggamma(a + b)
    return mp.exp(log_front) * fraction(a, b, x) / a


def mp_cp_upper(k, n, alpha):
    """Upper Clopper-Pearson bound for small k at 60 digits: P(Bin(n, u) <= k) = alpha/2, by bisection."""
    mp.mp.dps = 60

    def cdf(u):
        return sum(mp.binomial(n, j) * u ** j * (1 - u) ** (n - j) for j in range(k + 1))
    lo, hi = mp.mpf(0), mp.mpf(50 + 10 * k) / n
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) > mp.mpf(alpha) / 2 else (lo, mid)
    return lo


def check_distributions(rng):
    # Clopper-Pearson against scipy.stats.beta (Boost) up to n = 1e7, where Boost keeps 1e-10
    grid = []
    for n in [1, 2, 3, 5, 10, 29, 100, 1000, 8790, 10 ** 5, 10 ** 6, 10 ** 7]:
        for k in sorted({0, 1, 2, n // 10, n // 2, n - 2, n - 1, n, int(0.975 * n), int(0.934 * n)}):
            if 0 <= k <= n:
                for level in [0.5, 0.9, 0.95, 0.99, 0.999999]:
                    grid.append((k, n, level))
    out = tool("cp", stdin="".join(f"{k} {n} {level!r}\n" for k, n, level in grid)).splitlines()
    worst = 0.0
    for (k, n, level), line in zip(grid, out):
        lower, upper = (float(v) for v in line.split())
        alpha = 1 - level
        ref_lower = 0.0 if k == 0 else stats.beta.ppf(alpha / 2, k, n - k + 1)
        ref_upper = 1.0 if k == n else stats.beta.ppf(1 - alpha / 2, k + 1, n - k)
        worst = max(worst, rel_err(lower, ref_lower), rel_err(upper, ref_upper))
    check(len(out) == len(grid) and worst <= TOL,
          f"Clopper-Pearson: {len(grid)} intervals, n up to 1e7, equal scipy.stats.beta.ppf (worst rel. error {worst:.1e})")

    # n = 1e8, where Boost itself drifts by 1e-9: bounds near 0 and 1 against 60-digit binomial sums
    n = 10 ** 8
    lines, refs = [], []
    for k in (0, 1, 2, 5):
        for level in (0.5, 0.95, 0.999):
            ref = mp_cp_upper(k, n, 1 - level)
            lines += [f"{k} {n} {level!r}\n", f"{n - k} {n} {level!r}\n"]
            refs += [("upper", float(ref)), ("lower", float(1 - ref))]
    out = tool("cp", stdin="".join(lines)).splitlines()
    worst = 0.0
    for (side, ref), line in zip(refs, out):
        lower, upper = (float(v) for v in line.split())
        # a bound near 0 is compared relatively; one near 1 only to the spacing of doubles there (1.1e-16)
        err = abs(upper - ref) / ref if side == "upper" else abs(lower - ref) / 1.1e-16 * 1e-12
        worst = max(worst, err)
    check(worst <= 1e-12, f"Clopper-Pearson at n = 1e8, k and n - k in 0..5: equal 60-digit binomial sums "
          f"(worst rel. error {worst:.1e}; bounds near 1 within a step of doubles)")

    # The incomplete beta function against Boost for shapes up to 1e6, and against 60 digits beyond
    lines, refs = [], []
    for _ in range(400):
        a, b = 10 ** rng.uniform(-1, 6, 2)
        mean, sd = a / (a + b), np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
        x = float(np.clip(mean + sd * rng.normal() * 2, 1e-12, 1 - 1e-12))
        lines.append(f"{a!r} {b!r} {x!r}\n")
        refs.append(stats.beta.cdf(x, a, b))
    ours, refs = np.array([float(v) for v in tool("betainc", stdin="".join(lines)).split()]), np.array(refs)
    keep = refs > 1e-280
    err = rel_err(ours[keep], refs[keep])
    check(err <= TOL, f"incomplete beta I_x(a, b): 400 points, a, b from 0.1 to 1e6, worst rel. error {err:.1e} "
          "against scipy.stats.beta.cdf")
    lines, refs = [], []
    for _ in range(12):
        a, b = 10 ** rng.uniform(0, 8, 2)
        if rng.random() < 0.5:
            b = float(rng.integers(1, 40))  # a proportion near 1: large a, small b, x near 1
        mean, sd = a / (a + b), np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
        x = float(np.clip(mean + sd * rng.normal() * 2, 1e-12, 1 - 1e-15))
        lines.append(f"{a!r} {b!r} {x!r}\n")
        refs.append(mp_beta_inc(a, b, x))
    ours = [float(v) for v in tool("betainc", stdin="".join(lines)).split()]
    err = max(abs(o - float(r)) / max(float(min(r, 1 - r)), 1e-300) for o, r in zip(ours, refs))
    check(err <= 1e-11, f"incomplete beta: 12 points with shapes up to 1e8 (half of them b < 40, x near 1) "
          f"against a 60-digit evaluation, worst error relative to the smaller tail {err:.1e}")

    lines, refs = [], []
    for _ in range(400):
        a, b = 10 ** rng.uniform(-1, 6, 2)
        p = float(10 ** rng.uniform(-12, -0.01)) if rng.random() < 0.5 else float(1 - 10 ** rng.uniform(-12, -0.4))
        lines.append(f"{a!r} {b!r} {p!r}\n")
        refs.append(stats.beta.ppf(p, a, b))
    ours, refs = np.array([float(v) for v in tool("betainv", stdin="".join(lines)).split()]), np.array(refs)
    keep = (refs > 1e-280) & (refs < 1 - 1e-9)
    err = rel_err(ours[keep], refs[keep])
    check(err <= TOL, f"inverse incomplete beta: {keep.sum()} points, a, b from 0.1 to 1e6, worst rel. error "
          f"{err:.1e} against scipy.stats.beta.ppf")

    ps = np.r_[10.0 ** -np.arange(1, 300, 7), np.linspace(0.001, 0.999, 97), 1 - 10.0 ** -np.arange(1, 16)]
    ours = np.array([float(v) for v in tool("normq", stdin="".join(f"{p!r}\n" for p in ps)).split()])
    err = rel_err(ours, stats.norm.ppf(ps))
    check(err <= 1e-13, f"normal quantile: {len(ps)} points from 1e-295 to 1 - 1e-15, worst rel. error {err:.1e}")


def check_bootstrap(tmp, rng):
    y = rng.random(4000) < 0.3
    scores = np.round(rng.normal(size=4000) + 1.0 * y, 2)
    path = os.path.join(tmp, "boot.bin")
    write_data(path, scores, y)
    first = tool("bootstrap", path, 2000, 42, 0.95)
    check(first == tool("bootstrap", path, 2000, 42, 0.95), "bootstrap: the same seed gives the same interval")
    check(first != tool("bootstrap", path, 2000, 43, 0.95), "bootstrap: another seed gives another interval")
    auc, lower, upper, se = (float(v) for v in first.split())
    s = summary(path)
    # NumPy's own stratified bootstrap of the same data, for the spread
    pos, neg = scores[y], scores[~y]
    reps = [roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))],
                          np.r_[rng.choice(pos, len(pos)), rng.choice(neg, len(neg))]) for _ in range(400)]
    np_se = np.std(reps, ddof=1)
    check(abs(auc - s["auc"]) < 1e-15 and lower < auc < upper, f"bootstrap: AUC {auc:.4f} inside ({lower:.4f}, {upper:.4f})")
    check(0.85 < se / s["se"] < 1.15 and 0.8 < se / np_se < 1.25,
          f"bootstrap se {se:.5f} beside DeLong's {s['se']:.5f} and NumPy's bootstrap {np_se:.5f}")

    # Coverage on binormal data: positives N(d, 1), negatives N(0, 1), true AUC = Phi(d / sqrt 2).
    d, m, n, trials = 1.0, 60, 140, 300
    true_auc = stats.norm.cdf(d / np.sqrt(2))
    covered_boot = covered_delong = 0
    for _ in range(trials):
        scores = np.r_[rng.normal(d, 1, m), rng.normal(0, 1, n)]
        labels = np.r_[np.ones(m, bool), np.zeros(n, bool)]
        write_data(path, scores, labels)
        _, lower, upper, _ = (float(v) for v in tool("bootstrap", path, 500, rng.integers(1 << 62), 0.95).split())
        covered_boot += lower <= true_auc <= upper
        s = summary(path)
        covered_delong += s["lower"] <= true_auc <= s["upper"]
    for name, covered in [("bootstrap", covered_boot), ("DeLong", covered_delong)]:
        rate = covered / trials
        # 300 trials: a true 95 % coverage lands in [0.91, 0.98] with probability > 0.99
        check(0.91 <= rate <= 0.98, f"{name} 95% interval covers the true AUC {true_auc:.4f} in {rate:.1%} of "
              f"{trials} simulated studies (m={m}, n={n})")


def check_svg(tmp, rng):
    y = rng.random(3000) < 0.3
    scores = (1 / (1 + np.exp(-(rng.normal(size=3000) + 2 * y)))).astype(np.float32).astype(float)
    path = os.path.join(tmp, "svg.bin")
    write_data(path, scores, y)
    svg = tool("svg", path, "Title & <escapes>", 0.5, 0.8)
    try:
        root = ET.fromstring(svg)
        parsed = root.tag.endswith("svg")
    except ET.ParseError:
        parsed = False
    check(parsed, "SVG plot is well-formed XML with an <svg> root")
    svg_path, png_path = os.path.join(tmp, "plot.svg"), os.path.join(tmp, "plot.png")
    with open(svg_path, "w") as f:
        f.write(svg)
    rendered = subprocess.run(["rsvg-convert", "-o", png_path, svg_path], capture_output=True)
    check(rendered.returncode == 0 and os.path.getsize(png_path) > 1000, "rsvg-convert renders the SVG to PNG")


def main():
    rng = np.random.default_rng(2016)
    with tempfile.TemporaryDirectory(prefix="pgs-roc-oracle-") as tmp:
        check_auc_and_curve(tmp, rng)
        check_operating_points(tmp, rng)
        check_paired(tmp, rng)
        check_distributions(rng)
        check_bootstrap(tmp, rng)
        check_svg(tmp, rng)
    print(f"oracles: roc {passed} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
