/* A small Inception-like CNN for tests and CPU demos: every layer kind of Inception-v3 at a tiny size. */
#include "net_spec.h"

/*
 * 3×64×64 in → 32 × 7×7 features. It has a 1×3/3×1 pair, strides, padded max pooling, an average pool
 * that excludes the padding, a concatenation, an optional auxiliary head, global pooling, dropout and the
 * configurable head; test/oracle/nn_oracle.py builds the same network in PyTorch.
 */
const pgs_layer_spec pgs_small_cnn_spec[] = {
	PGS_CONV("conv1", "input", 16, 3, 3, 2, 2, 1, 1),
	PGS_CONV("conv2", "conv1", 32, 3, 3, 1, 1, 1, 1),
	PGS_MAXPOOL("pool1", "conv2", 3, 2, 1),
	PGS_CONV1("mixed.branch1x1", "pool1", 16),
	PGS_CONV1("mixed.branch3x3_1", "pool1", 16),
	PGS_CONV("mixed.branch3x3_2", "mixed.branch3x3_1", 16, 1, 3, 1, 1, 0, 1),
	PGS_CONV("mixed.branch3x3_3", "mixed.branch3x3_2", 16, 3, 1, 1, 1, 1, 0),
	PGS_AVGPOOL("mixed.avg_pool", "pool1", 3, 1, 1, PGS_SPEC_EXCLUDE_PAD),
	PGS_CONV1("mixed.branch_pool", "mixed.avg_pool", 16),
	PGS_CONCAT("mixed", "mixed.branch1x1", "mixed.branch3x3_3", "mixed.branch_pool"),
	{PGS_SPEC_AVGPOOL, "AuxLogits.avg_pool", {"mixed"}, 0, 3, 3, 2, 2, 0, 0, PGS_SPEC_AUX, 0.0f},
	{PGS_SPEC_CONV_BN_RELU, "AuxLogits.conv0", {"AuxLogits.avg_pool"}, 16, 1, 1, 1, 1, 0, 0, PGS_SPEC_AUX, 0.0f},
	PGS_GLOBAL_AVGPOOL("AuxLogits.avgpool", "AuxLogits.conv0", PGS_SPEC_AUX),
	PGS_FC("AuxLogits.fc", "AuxLogits.avgpool", PGS_SPEC_AUX | PGS_SPEC_AUX_LOGITS, 0.001f),
	PGS_CONV("conv3", "mixed", 32, 3, 3, 2, 2, 0, 0),
	PGS_GLOBAL_AVGPOOL("avgpool", "conv3", 0),
	PGS_DROPOUT("dropout", "avgpool"),
	PGS_FC("fc", "dropout", PGS_SPEC_LOGITS, 0.0f),
	PGS_SPEC_TABLE_END
};
