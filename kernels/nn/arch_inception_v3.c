/* Inception-v3 exactly as torchvision.models.inception_v3 builds it (module names, shapes, init std). */
#include "net_spec.h"

/*
 * Block macros expand to the rows of torchvision's InceptionA…E, in their registration order. Each
 * branch's average pooling is F.avg_pool2d(x, 3, 1, 1), which counts the padding (count_include_pad=True).
 */
#define INCEPTION_A(b, in, pool_features) \
	PGS_CONV1(b ".branch1x1", in, 64), \
	PGS_CONV1(b ".branch5x5_1", in, 48), \
	PGS_CONV(b ".branch5x5_2", b ".branch5x5_1", 64, 5, 5, 1, 1, 2, 2), \
	PGS_CONV1(b ".branch3x3dbl_1", in, 64), \
	PGS_CONV(b ".branch3x3dbl_2", b ".branch3x3dbl_1", 96, 3, 3, 1, 1, 1, 1), \
	PGS_CONV(b ".branch3x3dbl_3", b ".branch3x3dbl_2", 96, 3, 3, 1, 1, 1, 1), \
	PGS_AVGPOOL(b ".avg_pool", in, 3, 1, 1, 0), \
	PGS_CONV1(b ".branch_pool", b ".avg_pool", pool_features), \
	PGS_CONCAT(b, b ".branch1x1", b ".branch5x5_2", b ".branch3x3dbl_3", b ".branch_pool")

#define INCEPTION_B(b, in) \
	PGS_CONV(b ".branch3x3", in, 384, 3, 3, 2, 2, 0, 0), \
	PGS_CONV1(b ".branch3x3dbl_1", in, 64), \
	PGS_CONV(b ".branch3x3dbl_2", b ".branch3x3dbl_1", 96, 3, 3, 1, 1, 1, 1), \
	PGS_CONV(b ".branch3x3dbl_3", b ".branch3x3dbl_2", 96, 3, 3, 2, 2, 0, 0), \
	PGS_MAXPOOL(b ".max_pool", in, 3, 2, 0), \
	PGS_CONCAT(b, b ".branch3x3", b ".branch3x3dbl_3", b ".max_pool")

#define INCEPTION_C(b, in, c7) \
	PGS_CONV1(b ".branch1x1", in, 192), \
	PGS_CONV1(b ".branch7x7_1", in, c7), \
	PGS_CONV(b ".branch7x7_2", b ".branch7x7_1", c7, 1, 7, 1, 1, 0, 3), \
	PGS_CONV(b ".branch7x7_3", b ".branch7x7_2", 192, 7, 1, 1, 1, 3, 0), \
	PGS_CONV1(b ".branch7x7dbl_1", in, c7), \
	PGS_CONV(b ".branch7x7dbl_2", b ".branch7x7dbl_1", c7, 7, 1, 1, 1, 3, 0), \
	PGS_CONV(b ".branch7x7dbl_3", b ".branch7x7dbl_2", c7, 1, 7, 1, 1, 0, 3), \
	PGS_CONV(b ".branch7x7dbl_4", b ".branch7x7dbl_3", c7, 7, 1, 1, 1, 3, 0), \
	PGS_CONV(b ".branch7x7dbl_5", b ".branch7x7dbl_4", 192, 1, 7, 1, 1, 0, 3), \
	PGS_AVGPOOL(b ".avg_pool", in, 3, 1, 1, 0), \
	PGS_CONV1(b ".branch_pool", b ".avg_pool", 192), \
	PGS_CONCAT(b, b ".branch1x1", b ".branch7x7_3", b ".branch7x7dbl_5", b ".branch_pool")

#define INCEPTION_D(b, in) \
	PGS_CONV1(b ".branch3x3_1", in, 192), \
	PGS_CONV(b ".branch3x3_2", b ".branch3x3_1", 320, 3, 3, 2, 2, 0, 0), \
	PGS_CONV1(b ".branch7x7x3_1", in, 192), \
	PGS_CONV(b ".branch7x7x3_2", b ".branch7x7x3_1", 192, 1, 7, 1, 1, 0, 3), \
	PGS_CONV(b ".branch7x7x3_3", b ".branch7x7x3_2", 192, 7, 1, 1, 1, 3, 0), \
	PGS_CONV(b ".branch7x7x3_4", b ".branch7x7x3_3", 192, 3, 3, 2, 2, 0, 0), \
	PGS_MAXPOOL(b ".max_pool", in, 3, 2, 0), \
	PGS_CONCAT(b, b ".branch3x3_2", b ".branch7x7x3_4", b ".max_pool")

/* torch.cat([branch1x1, cat(3x3_2a, 3x3_2b), cat(3x3dbl_3a, 3x3dbl_3b), branch_pool]) flattened. */
#define INCEPTION_E(b, in) \
	PGS_CONV1(b ".branch1x1", in, 320), \
	PGS_CONV1(b ".branch3x3_1", in, 384), \
	PGS_CONV(b ".branch3x3_2a", b ".branch3x3_1", 384, 1, 3, 1, 1, 0, 1), \
	PGS_CONV(b ".branch3x3_2b", b ".branch3x3_1", 384, 3, 1, 1, 1, 1, 0), \
	PGS_CONV1(b ".branch3x3dbl_1", in, 448), \
	PGS_CONV(b ".branch3x3dbl_2", b ".branch3x3dbl_1", 384, 3, 3, 1, 1, 1, 1), \
	PGS_CONV(b ".branch3x3dbl_3a", b ".branch3x3dbl_2", 384, 1, 3, 1, 1, 0, 1), \
	PGS_CONV(b ".branch3x3dbl_3b", b ".branch3x3dbl_2", 384, 3, 1, 1, 1, 1, 0), \
	PGS_AVGPOOL(b ".avg_pool", in, 3, 1, 1, 0), \
	PGS_CONV1(b ".branch_pool", b ".avg_pool", 192), \
	PGS_CONCAT(b, b ".branch1x1", b ".branch3x3_2a", b ".branch3x3_2b", b ".branch3x3dbl_3a", \
			   b ".branch3x3dbl_3b", b ".branch_pool")

/*
 * InceptionAux: F.avg_pool2d(x, 5, 3), conv0 1×1, conv1 5×5, adaptive average pooling, fc. torchvision sets
 * stddev = 0.01 on the BasicConv2d conv1, which its init loop never looks at (it reads the attribute from
 * the inner nn.Conv2d), so conv1 really starts with the default 0.1; only the fc's 0.001 takes effect.
 */
#define INCEPTION_AUX(in) \
	{PGS_SPEC_AVGPOOL, "AuxLogits.avg_pool", {in}, 0, 5, 5, 3, 3, 0, 0, PGS_SPEC_AUX, 0.0f}, \
	{PGS_SPEC_CONV_BN_RELU, "AuxLogits.conv0", {"AuxLogits.avg_pool"}, 128, 1, 1, 1, 1, 0, 0, PGS_SPEC_AUX, 0.0f}, \
	{PGS_SPEC_CONV_BN_RELU, "AuxLogits.conv1", {"AuxLogits.conv0"}, 768, 5, 5, 1, 1, 0, 0, PGS_SPEC_AUX, 0.0f}, \
	PGS_GLOBAL_AVGPOOL("AuxLogits.avgpool", "AuxLogits.conv1", PGS_SPEC_AUX), \
	PGS_FC("AuxLogits.fc", "AuxLogits.avgpool", PGS_SPEC_AUX | PGS_SPEC_AUX_LOGITS, 0.001f)

const pgs_layer_spec pgs_inception_v3_spec[] = {
	PGS_CONV("Conv2d_1a_3x3", "input", 32, 3, 3, 2, 2, 0, 0),
	PGS_CONV("Conv2d_2a_3x3", "Conv2d_1a_3x3", 32, 3, 3, 1, 1, 0, 0),
	PGS_CONV("Conv2d_2b_3x3", "Conv2d_2a_3x3", 64, 3, 3, 1, 1, 1, 1),
	PGS_MAXPOOL("maxpool1", "Conv2d_2b_3x3", 3, 2, 0),
	PGS_CONV1("Conv2d_3b_1x1", "maxpool1", 80),
	PGS_CONV("Conv2d_4a_3x3", "Conv2d_3b_1x1", 192, 3, 3, 1, 1, 0, 0),
	PGS_MAXPOOL("maxpool2", "Conv2d_4a_3x3", 3, 2, 0),
	INCEPTION_A("Mixed_5b", "maxpool2", 32),
	INCEPTION_A("Mixed_5c", "Mixed_5b", 64),
	INCEPTION_A("Mixed_5d", "Mixed_5c", 64),
	INCEPTION_B("Mixed_6a", "Mixed_5d"),
	INCEPTION_C("Mixed_6b", "Mixed_6a", 128),
	INCEPTION_C("Mixed_6c", "Mixed_6b", 160),
	INCEPTION_C("Mixed_6d", "Mixed_6c", 160),
	INCEPTION_C("Mixed_6e", "Mixed_6d", 192),
	INCEPTION_AUX("Mixed_6e"),
	INCEPTION_D("Mixed_7a", "Mixed_6e"),
	INCEPTION_E("Mixed_7b", "Mixed_7a"),
	INCEPTION_E("Mixed_7c", "Mixed_7b"),
	PGS_GLOBAL_AVGPOOL("avgpool", "Mixed_7c", 0),
	PGS_DROPOUT("dropout", "avgpool"),
	PGS_FC("fc", "dropout", PGS_SPEC_LOGITS, 0.0f),
	PGS_SPEC_TABLE_END
};
