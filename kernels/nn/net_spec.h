/* Declarative network descriptions: a table of layers in C, one row per torchvision module. */
#ifndef PGS_NET_SPEC_H
#define PGS_NET_SPEC_H

#include "../device/ops.h"

/*
 * A network is a static table of these rows, in torchvision's module registration order (which is the
 * order of its state_dict, so tensor names and order come out exactly as torchvision's) and in an order
 * where every row's inputs come earlier. The generic code in net_build.c turns rows into primitive nodes
 * (a CONV_BN_RELU row is torchvision's BasicConv2d: a bias-free convolution "<name>.conv", batch norm
 * "<name>.bn" and a ReLU whose output is called "<name>"), and net_run.c runs any such graph; no network
 * has forward code of its own.
 */
typedef enum pgs_spec_kind
{
	PGS_SPEC_END = 0,
	PGS_SPEC_CONV_BN_RELU,		/* out filters, kernel, stride, padding */
	PGS_SPEC_MAXPOOL,			/* kernel, stride, padding */
	PGS_SPEC_AVGPOOL,			/* kernel, stride, padding; padding counted unless PGS_SPEC_EXCLUDE_PAD */
	PGS_SPEC_GLOBAL_AVGPOOL,	/* AdaptiveAvgPool2d(1) */
	PGS_SPEC_CONCAT,			/* channel concatenation of the inputs, in order */
	PGS_SPEC_DROPOUT,			/* probability from the network's configuration */
	PGS_SPEC_FC					/* Linear with bias; out = the head's outputs */
} pgs_spec_kind;

/* Row flags. */
#define PGS_SPEC_AUX 0x1		/* part of the auxiliary classifier: built only with aux_logits, run only in training */
#define PGS_SPEC_LOGITS 0x2		/* this FC's output is the network's logits */
#define PGS_SPEC_AUX_LOGITS 0x4 /* this FC's output is the auxiliary logits */
#define PGS_SPEC_EXCLUDE_PAD 0x8	/* average pooling divides by the elements under the window only */

#define PGS_SPEC_MAX_INPUTS PGS_CONCAT_MAX_PARTS

typedef struct pgs_layer_spec
{
	pgs_spec_kind kind;
	const char *name;			/* torchvision module path, e.g. "Mixed_5b.branch1x1" */
	const char *inputs[PGS_SPEC_MAX_INPUTS];	/* earlier rows by name, "input" for the image; none = row above */
	int			out;			/* convolution filters */
	int			kernel_h,
				kernel_w,
				stride_h,
				stride_w,
				pad_h,
				pad_w;
	int			flags;
	float		init_std;		/* weights ~ N(0, std²) truncated to [−2, 2]; 0 means 0.1 (torchvision's default) */
} pgs_layer_spec;

/* Row constructors, so a table reads like the torchvision source it replicates. */
#define PGS_CONV(name, in, out, kh, kw, sh, sw, ph, pw) \
	{PGS_SPEC_CONV_BN_RELU, name, {in}, out, kh, kw, sh, sw, ph, pw, 0, 0.0f}
#define PGS_CONV1(name, in, out) PGS_CONV(name, in, out, 1, 1, 1, 1, 0, 0)
#define PGS_MAXPOOL(name, in, k, s, p) {PGS_SPEC_MAXPOOL, name, {in}, 0, k, k, s, s, p, p, 0, 0.0f}
#define PGS_AVGPOOL(name, in, k, s, p, flags) {PGS_SPEC_AVGPOOL, name, {in}, 0, k, k, s, s, p, p, flags, 0.0f}
#define PGS_GLOBAL_AVGPOOL(name, in, flags) {PGS_SPEC_GLOBAL_AVGPOOL, name, {in}, 0, 0, 0, 0, 0, 0, 0, flags, 0.0f}
#define PGS_CONCAT(name, ...) {PGS_SPEC_CONCAT, name, {__VA_ARGS__}, 0, 0, 0, 0, 0, 0, 0, 0, 0.0f}
#define PGS_DROPOUT(name, in) {PGS_SPEC_DROPOUT, name, {in}, 0, 0, 0, 0, 0, 0, 0, 0, 0.0f}
#define PGS_FC(name, in, flags, std) {PGS_SPEC_FC, name, {in}, 0, 0, 0, 0, 0, 0, 0, flags, std}
#define PGS_SPEC_TABLE_END {PGS_SPEC_END, NULL, {NULL}, 0, 0, 0, 0, 0, 0, 0, 0, 0.0f}

/* The built-in networks (arch_*.c). */
extern const pgs_layer_spec pgs_inception_v3_spec[];
extern const pgs_layer_spec pgs_small_cnn_spec[];

#endif
