# The SQL path against independent implementations: data loaded into a real server, every screen.roc result
# read back and compared with scikit-learn, a direct O(m·n) NumPy DeLong and scipy.stats.beta (Debian's
# Python, /usr/bin/python3), including an aggregate that really runs on parallel workers.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $python = '/usr/bin/python3';
plan skip_all => "$python with numpy, scikit-learn and scipy is needed"
  unless system($python, '-c', 'import numpy, sklearn, scipy') == 0;

my $dir = PostgreSQL::Test::Utils::tempdir;
my $node = PostgreSQL::Test::Cluster->new('roc_oracle');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgscreen'\nmax_worker_processes = 8\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgscreen');

# 1. Data sets with the ties, NULLs and class balances of real result tables, written by NumPy.
my $generate = <<'PY';
import sys
import numpy as np
out = sys.argv[1]
rng = np.random.default_rng(60)
rows = []
def add(name, a, b, y):
    for i, (sa, sb, label) in enumerate(zip(a, b, y)):
        rows.append((name, i, sa, sb, label))
n = 3000
y = rng.random(n) < 0.3
add("continuous", rng.normal(size=n) + y, rng.normal(size=n) + 0.6 * y, y)
n = 6000
y = rng.random(n) < 0.2
a = np.round(rng.normal(size=n) + 1.1 * y, 1)
add("ties", a, np.round(0.6 * a + rng.normal(size=n) * 0.8, 1), y)
n = 5000
y = rng.random(n) < 0.08
logit = rng.normal(size=n) + 2.5 * y
add("float4 sigmoid", (1 / (1 + np.exp(-logit))).astype(np.float32), (1 / (1 + np.exp(-(logit + rng.normal(size=n))))).astype(np.float32), y)
n = 4000
y = rng.random(n) < 0.5
add("grades", np.clip(np.round(rng.normal(2, 1, n) + y), 0, 4), np.clip(np.round(rng.normal(2, 1, n) + 0.5 * y), 0, 4), y)
n = 300000
y = rng.random(n) < 0.25
add("parallel", np.round(rng.normal(size=n) + y, 3), rng.normal(size=n) + 0.5 * y, y)
with open(out, "w") as f:
    for name, i, sa, sb, label in rows:
        # every 97th row of the small sets has a NULL score or label, which SQL must skip and count
        if name != "parallel" and i % 97 == 5:
            f.write(f"{name},{i},,{sb!r},{'t' if label else 'f'}\n")
        elif name != "parallel" and i % 97 == 6:
            f.write(f"{name},{i},{sa!r},{sb!r},\n")
        else:
            f.write(f"{name},{i},{float(sa)!r},{float(sb)!r},{'t' if label else 'f'}\n")
PY
open(my $fh, '>', "$dir/generate.py") or die;
print $fh $generate;
close $fh;
is(system($python, "$dir/generate.py", "$dir/data.csv"), 0, 'NumPy wrote the data sets');

$node->safe_psql('postgres', 'CREATE TABLE data (dataset text, id int, score float8, score_b float8, label boolean)');
my ($rc, $out, $err) = $node->psql('postgres', "\\copy data FROM '$dir/data.csv' CSV");
is($rc, 0, "data loaded: $err");
$node->safe_psql('postgres', 'ANALYZE data');

# 2. Every SQL result, written to CSV files for the comparison.
my %queries = (
	summary => q{SELECT dataset, (screen.roc_info(r)).*, (screen.auc_ci(r)).*, (screen.auc_ci(r, level => 0.9)).lower AS lower90
		FROM (SELECT dataset, screen.roc(score, label) AS r FROM data GROUP BY dataset) s ORDER BY dataset},
	curve => q{SELECT dataset, c.* FROM (SELECT dataset, screen.roc(score, label) AS r FROM data
		WHERE dataset <> 'parallel' GROUP BY dataset) s, screen.roc_curve(r) c},
	points => q{SELECT dataset, target, value, p.* FROM (SELECT dataset, screen.roc(score, label) AS r FROM data
		WHERE dataset <> 'parallel' GROUP BY dataset) s,
		(VALUES ('sensitivity', 0.9), ('sensitivity', 0.975), ('specificity', 0.9), ('specificity', 0.98)) t(target, value),
		LATERAL (SELECT * FROM screen.operating_point(r, sensitivity => CASE WHEN target = 'sensitivity' THEN value END,
		                                              specificity => CASE WHEN target = 'specificity' THEN value END)) p},
	compare => q{SELECT dataset, (c).* FROM (SELECT dataset, screen.roc_compare(score, score_b, label) AS c FROM data
		WHERE dataset <> 'parallel' GROUP BY dataset) s ORDER BY dataset},
);
for my $name (sort keys %queries)
{
	(my $query = $queries{$name}) =~ s/\s+/ /g;
	($rc, $out, $err) = $node->psql('postgres', "\\copy ($query) TO '$dir/$name.csv' CSV HEADER");
	is($rc, 0, "SQL results: $name $err");
}

# 3. The parallel path for real: two workers launched, and the same bytes as the serial aggregate.
my $parallel = q{SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
	SET max_parallel_workers_per_gather = 2;};
my $plan = $node->safe_psql('postgres', "$parallel EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF)
	SELECT screen.roc(score, label) FROM data WHERE dataset = 'parallel'");
like($plan, qr/Partial Aggregate/, 'the plan aggregates partially in each process');
like($plan, qr/Workers Launched: 2/, 'two parallel workers ran');
my $par = $node->safe_psql('postgres', "$parallel SELECT md5(screen.roc(score, label)::bytea) FROM data WHERE dataset = 'parallel'");
my $ser = $node->safe_psql('postgres', "SET max_parallel_workers_per_gather = 0;
	SELECT md5(screen.roc(score, label)::bytea) FROM data WHERE dataset = 'parallel'");
is($par, $ser, 'parallel and serial roc values are byte-identical');
(my $copy = "\\copy (SELECT screen.auc(r) AS auc, (c).auc_a, (c).auc_b, (c).se, (c).n
	FROM (SELECT screen.roc(score, label) AS r, screen.roc_compare(score, score_b, label) AS c
	FROM data WHERE dataset = 'parallel') s) TO '$dir/parallel.csv' CSV HEADER") =~ s/\s+/ /g;
($rc, $out, $err) = $node->psql('postgres', "$parallel\n$copy");
is($rc, 0, "parallel results written $err");

# 4. The comparison, by scikit-learn, NumPy and scipy on the same CSV data.
my $check = <<'PY';
import csv, sys
import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score, roc_curve
d = sys.argv[1]
data = {}
for name, i, sa, sb, label in csv.reader(open(f"{d}/data.csv")):
    data.setdefault(name, []).append((float(sa) if sa else None, float(sb), None if label == "" else label == "t"))
def arrays(name):
    rows = [r for r in data[name] if r[0] is not None and r[2] is not None]
    return np.array([r[0] for r in rows]), np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
def rows(file):
    return list(csv.DictReader(open(f"{d}/{file}.csv")))
def num(v):
    return float("nan") if v == "" else float(v)
def report(ok, what):
    print(("ok - " if ok else "FAILED - ") + what)
def components(pos, neg):
    v10 = np.array([((x > neg) + 0.5 * (x == neg)).mean() for x in pos])
    v01 = np.array([((pos > y) + 0.5 * (pos == y)).mean() for y in neg])
    return v10, v01

for r in rows("summary"):
    name = r["dataset"]
    s, _, y = arrays(name)
    skipped = sum(1 for x in data[name] if x[0] is None or x[2] is None)
    report(int(r["n"]) == len(s) and int(r["positives"]) == y.sum() and int(r["skipped"]) == skipped
           and int(r["distinct_scores"]) == len(np.unique(s)),
           f"{name}: n={r['n']}, positives={r['positives']}, {r['distinct_scores']} distinct scores, {r['skipped']} NULL rows skipped")
    ref = roc_auc_score(y, s)
    report(abs(num(r["auc"]) - ref) <= 1e-12, f"{name}: SQL AUC {num(r['auc']):.15f} = sklearn {ref:.15f}")
    if name == "parallel":
        continue
    v10, v01 = components(s[y], s[~y])
    var = v10.var(ddof=1) / y.sum() + v01.var(ddof=1) / (~y).sum()
    se = np.sqrt(var)
    lo, hi = max(0, ref - stats.norm.ppf(0.975) * se), min(1, ref + stats.norm.ppf(0.975) * se)
    lo90 = max(0, ref - stats.norm.ppf(0.95) * se)
    err = max(abs(num(r["se"]) / se - 1), abs(num(r["lower"]) - lo), abs(num(r["upper"]) - hi), abs(num(r["lower90"]) - lo90))
    report(err <= 1e-9, f"{name}: DeLong se {num(r['se']):.8f} and 95%/90% intervals equal the O(m*n) NumPy reference (worst {err:.1e})")

curves = {}
for r in rows("curve"):
    curves.setdefault(r["dataset"], []).append(r)
for name, points in curves.items():
    s, _, y = arrays(name)
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    ours_thr = np.array([num(p["threshold"]) for p in points])
    same = len(points) == len(thr) and ours_thr[0] == np.inf and np.array_equal(ours_thr[1:], thr[1:]) \
        and np.allclose([num(p["tpr"]) for p in points], tpr, rtol=0, atol=1e-15) \
        and np.allclose([num(p["fpr"]) for p in points], fpr, rtol=0, atol=1e-15)
    report(same, f"{name}: roc_curve has sklearn's {len(thr)} points, thresholds and rates")

for r in rows("points"):
    name, target, value = r["dataset"], r["target"], float(r["value"])
    s, _, y = arrays(name)
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    thr = np.r_[np.inf, thr[1:]]
    k = np.argmax(tpr >= value) if target == "sensitivity" else np.nonzero(1 - fpr >= value)[0][-1]
    tp, fp = int(round(tpr[k] * y.sum())), int(round(fpr[k] * (~y).sum()))
    tn, fn = (~y).sum() - fp, y.sum() - tp
    cp = lambda k_, n_: (0.0 if k_ == 0 else stats.beta.ppf(0.025, k_, n_ - k_ + 1), 1.0 if k_ == n_ else stats.beta.ppf(0.975, k_ + 1, n_ - k_))
    sl, su = cp(tp, tp + fn)
    pl, pu = cp(tn, tn + fp)
    ok = num(r["threshold"]) == thr[k] and int(r["tp"]) == tp and int(r["fp"]) == fp and int(r["tn"]) == tn and int(r["fn"]) == fn
    err = max(abs(num(r["sensitivity_lower"]) - sl), abs(num(r["sensitivity_upper"]) - su),
              abs(num(r["specificity_lower"]) - pl), abs(num(r["specificity_upper"]) - pu))
    report(ok and err <= 1e-9, f"{name}: {target} >= {value}: threshold {r['threshold']}, counts and Clopper-Pearson intervals (worst {err:.1e})")

for r in rows("compare"):
    name = r["dataset"]
    a, b, y = arrays(name)
    keep = np.array([x[0] is not None and x[2] is not None for x in data[name]])
    a10, a01 = components(a[y], a[~y])
    b10, b01 = components(b[y], b[~y])
    cov = np.cov(np.vstack([a10, b10])) / y.sum() + np.cov(np.vstack([a01, b01])) / (~y).sum()
    diff = a10.mean() - b10.mean()
    se = np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    z = diff / se
    p = 2 * stats.norm.sf(abs(z))
    err = max(abs(num(r["auc_a"]) - a10.mean()), abs(num(r["auc_b"]) - b10.mean()), abs(num(r["se"]) / se - 1),
              abs(num(r["z"]) - z) / max(1, abs(z)), abs(num(r["p_value"]) - p) / max(p, 1e-300),
              abs(num(r["correlation"]) - cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])))
    report(err <= 1e-9, f"{name}: roc_compare AUCs, se, z = {num(r['z']):.4f} and p = {num(r['p_value']):.3g} equal the paired O(m*n) DeLong (worst {err:.1e})")

r = rows("parallel")[0]
s, b, y = arrays("parallel")
ref_a, ref_b = roc_auc_score(y, s), roc_auc_score(y, b)
report(abs(num(r["auc"]) - ref_a) <= 1e-12 and abs(num(r["auc_a"]) - ref_a) <= 1e-12 and abs(num(r["auc_b"]) - ref_b) <= 1e-12
       and int(r["n"]) == len(s), f"parallel workers: AUCs {ref_a:.12f} and {ref_b:.12f} of {len(s)} cases equal sklearn's")
PY
open($fh, '>', "$dir/check.py") or die;
print $fh $check;
close $fh;
my $report = `$python $dir/check.py $dir 2>&1`;
is($?, 0, 'the comparison script ran');
my @lines = grep { /^(ok|FAILED) - / } split /\n/, $report;
cmp_ok(scalar(@lines), '>', 20, 'the comparison reported every check') or diag($report);
ok($_ =~ /^ok - /, $_ =~ s/^(ok|FAILED) - //r) for @lines;

is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"), '1',
	'the server is healthy');
$node->stop;
done_testing();
