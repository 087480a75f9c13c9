/* Finds every occurrence of many tokens in a text in one pass (Aho-Corasick), for scrubbing free text. */
#ifndef PGS_TOKEN_MATCHER_H
#define PGS_TOKEN_MATCHER_H

#include "../common/status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace deid
{

/*
 * Time is linear in the tokens' total length to build and in the text's length to mask, however many
 * tokens there are: an object's identifying values (thousands of Other Patient IDs, say) and its free
 * text (megabytes) are both the sender's to choose. Both loops stop at a pending cancellation.
 */
class TokenMatcher
{
public:
	pgs_status	build(const std::vector<std::string> &tokens, pgs_error *err);

	/* Every byte of out covered by an occurrence in key (out's upper-cased twin) becomes mask. */
	pgs_status	mask(const std::string &key, std::string &out, char mask, pgs_error *err) const;

private:
	struct Node
	{
		int32_t		fail = 0;		/* the longest proper suffix of this node's string that is a node */
		uint32_t	longest = 0;	/* length of the longest token that is a suffix of this node's string */
	};

	std::vector<Node> nodes_;
	int32_t		root_children_[256];	/* the root is visited most: a direct table */
	std::vector<uint32_t> first_edge_;	/* node k's edges are [first_edge_[k], first_edge_[k + 1]) */
	std::vector<uint8_t> edge_byte_;	/* sorted within each node */
	std::vector<int32_t> edge_child_;

	int32_t		child(int32_t node, uint8_t byte) const;
};

}								/* namespace deid */

#endif
