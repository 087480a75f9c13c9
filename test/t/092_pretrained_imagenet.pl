# Starting from ImageNet weights: torchvision's full Inception-v3 state_dict (1000-class fc, auxiliary classifier),
# saved with numpy.savez, imports as pretrained, trains, and exports weights PyTorch loads strictly.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use TrainingCluster;

my $python = '/usr/bin/python3';
my $dir = PostgreSQL::Test::Utils::tempdir;
my $imagenet = "$dir/inception_v3_imagenet.npz";
my $exported = "$dir/exported.npz";

# Built by torchvision (no download): the checkpoint's layout and sizes, seeded weights.
my ($out, $err);
my $ok = IPC::Run::run([ $python, '-c', q{
import sys, numpy as np, torch, torchvision
torch.manual_seed(0)
m = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=True)
np.savez(sys.argv[1], **{k: v.numpy() for k, v in m.state_dict().items()})
print(m.fc.weight.shape[0], m.AuxLogits.fc.weight.shape[0])
}, $imagenet ], '>', \$out, '2>', \$err);
ok($ok, 'torchvision wrote its Inception-v3 state_dict') or diag($err);
is($out, "1000 1000\n", 'with the 1000-class classifier and the auxiliary classifier');

my $node = training_cluster('pretrained_imagenet');
my $npz = "pg_read_binary_file('$imagenet')";

like($node->safe_psql('postgres', qq{
	SELECT architecture || ' ' || input_height FROM screen.model_info(
		screen.model_from_npz($npz, 'inception_v3', '{"pretrained": true, "input_height": 75, "input_width": 75}'))}),
	qr/^inception_v3 75$/, 'model_from_npz takes the checkpoint as pretrained');
my ($rc, $stdout, $stderr) = $node->psql('postgres',
	"SELECT screen.model_from_npz($npz, 'inception_v3', '{\"input_height\": 75, \"input_width\": 75}')");
like($stderr, qr/does not have|has shape/, 'without "pretrained" the other classifier is refused on its shape');
unlike($stderr, qr/more than its tensor needs/, '... not on its size');

$node->safe_psql('postgres', qq{
	SELECT screen.import_weights('imagenet', $npz, '{"architecture": "inception_v3", "input_size": 75}');
	CREATE TABLE small AS
	SELECT id, grade, screen.fundus_preprocess(image, 75, ungradable => 'null') AS img
	FROM screen.synthetic_fundus_set(8, 5, 320, ARRAY[1, 0, 0, 1, 1]::float8[]);
	DELETE FROM small WHERE img IS NULL;
});
is($node->safe_psql('postgres', 'SELECT count(DISTINCT grade >= 2) FROM small'), 2, 'the photographs hold both classes');

# A tiny learning rate: at 75 px the last modules' batch norm sees 1×1 maps, and with batches of 2 its gradients
# are so large that a step at 1e-6 moves the stem's weights by several times their size (the trained backbone
# is then no evidence of where it started).
my $options = '{"architecture": "inception_v3", "input_size": 75, "pretrained": "imagenet", "optimizer": "sgd", '
  . '"learning_rate": 1e-12, "momentum": 0, "nesterov": false, "batch_size": 2, "max_epochs": 1, '
  . '"augmentation": false, "normalization": "symmetric", "seed": 3}';
my $job = $node->safe_psql('postgres',
	"SELECT screen.train('dr_imagenet', 'SELECT img, grade >= 2 FROM small', 'SELECT img, grade >= 2 FROM small', '$options')");
is($node->safe_psql('postgres', "SELECT screen.wait($job, '10 min')"), 'succeeded', 'the job trains from the ImageNet weights')
  or diag($node->safe_psql('postgres', "SELECT error FROM screen.jobs WHERE id = $job"));
cmp_ok(job_field($node, $job, 'step'), '>', 0, 'at least one step was trained');

# Two statements: a query does not see a large object it creates itself.
$node->safe_psql('postgres', "SELECT lo_from_bytea(8701, screen.export_weights('dr_imagenet')); SELECT lo_export(8701, '$exported')");
$ok = IPC::Run::run([ $python, '-c', q{
import sys, numpy as np, torch, torchvision
src, got = np.load(sys.argv[1]), np.load(sys.argv[2])
m = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False, num_classes=1)
m.load_state_dict({k: torch.from_numpy(got[k]) for k in got.files}, strict=True)
# The backbone is ImageNet's after steps at learning rate 1e-12; the classifier is the new 1-output one.
worst = max(np.abs(got[k] - src[k]).max() / max(np.abs(src[k]).max(), 1e-12)
            for k in got.files if k.endswith('conv.weight'))
print('strict', tuple(m.fc.weight.shape), 'backbone %.1e' % worst)
sys.exit(0 if worst < 1e-3 and got['fc.weight'].shape == (1, 2048) else 1)
}, $imagenet, $exported ], '>', \$out, '2>', \$err);
ok($ok, 'PyTorch loads the exported weights strictly into a 1-output torchvision Inception-v3, backbone from ImageNet')
  or diag("$out$err");
note($out);

$node->stop;
done_testing();
