# The documentation's SQL examples run as written: every ```sql block of README.md and docs/*.md, in order,
# each page in a fresh database of a server with pgscreen preloaded. A page declares what its examples
# assume in HTML comments the reader does not see:
#   <!-- fixture
#   SQL run at this point, e.g. a table the examples below read
#   -->
#   <!-- doctest: skip REASON -->   (just before a block: the block needs what a test server lacks, e.g. a PACS)
# Skipped blocks are printed with their reason and counted; everything else must succeed.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TrainingCluster;

my $docs_root = $ENV{PGSCREEN_DOCS} // "$FindBin::Bin/../..";
my @pages = ('README.md', map { "docs/" . (split m{/}, $_)[-1] } sort glob("$docs_root/docs/*.md"));

# The page's runnable pieces in document order: [kind (sql, fixture or skip), line, text, reason].
sub examples_of
{
	my ($page) = @_;
	my @lines = split /\n/, slurp_file("$docs_root/$page"), -1;
	my (@items, $skip_reason);
	for (my $i = 0; $i < @lines; $i++)
	{
		if ($lines[$i] =~ /^<!-- doctest: skip (.+?) -->\s*$/)
		{
			$skip_reason = $1;
		}
		elsif ($lines[$i] =~ /^<!-- fixture\s*$/)
		{
			my $start = $i + 1;
			$i++ while $i < @lines && $lines[$i] !~ /^-->\s*$/;
			push @items, ['fixture', $start, join("\n", @lines[$start .. $i - 1])];
		}
		elsif ($lines[$i] =~ /^```(\S*)\s*$/)
		{
			my ($lang, $start) = ($1, $i + 1);
			$i++;
			$i++ while $i < @lines && $lines[$i] !~ /^```\s*$/;
			next unless $lang eq 'sql';
			push @items, [defined $skip_reason ? 'skip' : 'sql', $start, join("\n", @lines[$start .. $i - 1]),
				$skip_reason];
			undef $skip_reason;
		}
	}
	return @items;
}

my $node = training_cluster('doc_examples', "max_parallel_workers_per_gather = 0\n");
my ($ran, @skipped) = (0);
foreach my $page (@pages)
{
	my $db = 'doc_' . lc($page =~ s{^docs/}{}r =~ s/\.md$//r =~ s/\W/_/gr);
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	foreach my $item (examples_of($page))
	{
		my ($kind, $line, $sql, $reason) = @$item;
		my $where = "$page:$line";
		if ($kind eq 'skip')
		{
			push @skipped, "$where: $reason";
			SKIP: { skip "$where: $reason", 1; }
			next;
		}
		my ($stdout, $stderr);
		my $rc = $node->psql($db, $sql, stdout => \$stdout, stderr => \$stderr, on_error_stop => 1,
			extra_params => ['-v', 'VERBOSITY=verbose']);
		$ran++ if $kind eq 'sql';
		ok($rc == 0 && $stderr !~ /^(ERROR|FATAL|PANIC):/m, "$where: " . ($kind eq 'fixture' ? 'fixture' : 'example'))
		  or diag("$where failed:\n$sql\n---\n$stderr");
	}
	# A training job's failure is a row, not an error: the page's jobs must all have succeeded too.
	next unless $node->safe_psql($db, "SELECT count(*) FROM pg_extension WHERE extname = 'pgscreen'");
	is($node->safe_psql($db, "SELECT string_agg(format('job %s: %s %s', id, state, error), '; ') "
		  . "FROM screen.jobs WHERE state <> 'succeeded'"), '', "$page: every training job succeeded");
}
ok($ran >= 25, "$ran examples ran");
diag(scalar(@skipped) . " examples skipped:\n" . join("\n", @skipped)) if @skipped;
ok(@skipped <= 20, 'only examples that need what one test server lacks (a PACS, several servers, GPUs, weights a user brings) are skipped');

unlike(slurp_file($node->logfile), qr/terminated by signal|server process .* was terminated/, 'no process crashed');
$node->stop;
done_testing();
