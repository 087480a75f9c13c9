# The installed build: pgscreen.so links no CUDA library, and the CUDA module exports only its entry point.
use strict;
use warnings;
use Test::More;

my $libdir = $ENV{PGSCREEN_PKGLIBDIR} or die "PGSCREEN_PKGLIBDIR is not set";
my $main = "$libdir/pgscreen.so";
my $cuda = "$libdir/pgscreen_cuda.so";

ok(-f $main, 'pgscreen.so is installed');
my @needed = map { /\[(.*)\]/ ? $1 : () } grep { /NEEDED/ } `readelf -d $main`;
ok(@needed > 0, 'readelf lists the libraries pgscreen.so needs: ' . join(' ', @needed));
is((grep { /cuda|cudnn|cublas|nccl/i } @needed), 0, 'pgscreen.so needs no CUDA library');

SKIP:
{
	skip 'no CUDA module installed (built with CUDA=0 or without nvcc/cuDNN)', 2 unless -f $cuda;
	my @symbols = grep { / T / } `nm -D --defined-only $cuda`;
	is(scalar(@symbols), 1, 'the CUDA module exports one function');
	like($symbols[0] // '', qr/ pgscreen_cuda_module$/, 'and it is pgscreen_cuda_module');
}

done_testing();
