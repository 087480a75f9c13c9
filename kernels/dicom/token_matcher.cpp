/* Aho-Corasick matching of identifying tokens in free text: one pass over the text whatever the token count. */
#include "token_matcher.h"

#include "../common/cancel.h"

#include <algorithm>
#include <deque>
#include <utility>

namespace deid
{

/* How many bytes or tokens pass between two looks at a pending cancellation. */
static const size_t CANCEL_STRIDE = 1 << 16;

int32_t
TokenMatcher::child(int32_t node, uint8_t byte) const
{
	if (node == 0)
		return root_children_[byte];
	auto		begin = edge_byte_.begin() + first_edge_[node],
				end = edge_byte_.begin() + first_edge_[node + 1];
	auto		at = std::lower_bound(begin, end, byte);

	return at != end && *at == byte ? edge_child_[at - edge_byte_.begin()] : -1;
}

pgs_status
TokenMatcher::build(const std::vector<std::string> &tokens, pgs_error *err)
{
	std::vector<std::vector<std::pair<uint8_t, int32_t>>> children(1);
	pgs_status	st;

	nodes_.assign(1, Node());
	for (size_t k = 0; k < tokens.size(); k++)
	{
		int32_t		node = 0;

		if (k % CANCEL_STRIDE == 0 && (st = pgs_cancel_point(err)) != PGS_OK)
			return st;
		for (unsigned char c : tokens[k])
		{
			auto		edge = std::find_if(children[node].begin(), children[node].end(),
											[c](const std::pair<uint8_t, int32_t> &e) { return e.first == c; });
			int32_t		next;

			if (edge != children[node].end())
				next = edge->second;
			else
			{
				next = int32_t(nodes_.size());
				nodes_.emplace_back();
				children.emplace_back();
				children[node].emplace_back(c, next);
			}
			node = next;
		}
		nodes_[node].longest = std::max<uint32_t>(nodes_[node].longest, uint32_t(tokens[k].size()));
	}

	/* The trie's edges, compacted: one sorted run per node. */
	std::fill(std::begin(root_children_), std::end(root_children_), -1);
	for (const auto &edge : children[0])
		root_children_[edge.first] = edge.second;
	first_edge_.assign(1, 0);
	edge_byte_.clear();
	edge_child_.clear();
	for (auto &edges : children)
	{
		std::sort(edges.begin(), edges.end());
		for (const auto &edge : edges)
		{
			edge_byte_.push_back(edge.first);
			edge_child_.push_back(edge.second);
		}
		first_edge_.push_back(uint32_t(edge_byte_.size()));
	}

	/* Breadth first, so a node's suffix link and its longest token are known before its children's. */
	std::deque<int32_t> queue;

	queue.push_back(0);
	while (!queue.empty())
	{
		int32_t		parent = queue.front();

		queue.pop_front();
		if (parent % CANCEL_STRIDE == 0 && (st = pgs_cancel_point(err)) != PGS_OK)
			return st;
		for (const auto &edge : children[parent])
		{
			int32_t		node = edge.second,
						suffix = 0;

			if (parent != 0)
			{
				int32_t		f = nodes_[parent].fail;

				while (f != 0 && child(f, edge.first) < 0)
					f = nodes_[f].fail;
				suffix = std::max(child(f, edge.first), 0);
			}
			nodes_[node].fail = suffix;
			nodes_[node].longest = std::max(nodes_[node].longest, nodes_[suffix].longest);
			queue.push_back(node);
		}
	}
	return PGS_OK;
}

pgs_status
TokenMatcher::mask(const std::string &key, std::string &out, char mask, pgs_error *err) const
{
	std::vector<uint32_t> match_ending_at(key.size(), 0);
	int32_t		node = 0;
	pgs_status	st;

	if (nodes_.size() <= 1)
		return PGS_OK;
	for (size_t i = 0; i < key.size(); i++)
	{
		uint8_t		c = uint8_t(key[i]);
		int32_t		next;

		if (i % CANCEL_STRIDE == 0 && (st = pgs_cancel_point(err)) != PGS_OK)
			return st;
		while ((next = child(node, c)) < 0 && node != 0)
			node = nodes_[node].fail;
		node = std::max(next, 0);
		match_ending_at[i] = nodes_[node].longest;
	}

	/* Right to left: a byte is covered when some match ending at or after it starts at or before it. */
	size_t		reach = SIZE_MAX;

	for (size_t i = key.size(); i-- > 0;)
	{
		if (match_ending_at[i] > 0)
			reach = std::min(reach, i + 1 - match_ending_at[i]);
		if (reach <= i)
			out[i] = mask;
	}
	return PGS_OK;
}

}								/* namespace deid */
