/* The de-identification tables generated from the shipped TSV (PS3.15 2023b E.1-1, E.3.10-1) and their lookup. */
#include "dicom_internal.h"

#include <unordered_map>
#include <vector>

#include "deid_tables.inc"

namespace
{

struct RuleIndex
{
	std::unordered_map<uint32_t, const pgs_deid_rule *> exact;
	std::vector<const pgs_deid_rule *> masked;	/* (50xx,xxxx), (60xx,3000), ... */

	RuleIndex()
	{
		for (const pgs_deid_rule &rule : deid_e1_rules)
		{
			if (rule.group_mask == 0xFFFF && rule.element_mask == 0xFFFF)
				exact.emplace(uint32_t(rule.group) << 16 | rule.element, &rule);
			else
				masked.push_back(&rule);
		}
	}
};

const RuleIndex &
rule_index()
{
	static const RuleIndex index;

	return index;
}

}								/* namespace */

const pgs_deid_rule *
deid_find_rule(uint16_t group, uint16_t element)
{
	const RuleIndex &index = rule_index();
	auto		it = index.exact.find(uint32_t(group) << 16 | element);

	if (it != index.exact.end())
		return it->second;
	for (const pgs_deid_rule *rule : index.masked)
		if ((group & rule->group_mask) == rule->group && (element & rule->element_mask) == rule->element)
			return rule;
	return NULL;
}

bool
deid_is_safe_private(uint16_t group, uint8_t element_low, const std::string &creator)
{
	for (const pgs_deid_safe_private &row : deid_safe_private)
		if (row.group == group && row.element == element_low && creator == row.creator)
			return true;
	return false;
}

int
deid_rule_count()
{
	return DEID_E1_RULE_COUNT;
}

int
deid_safe_private_count()
{
	return DEID_SAFE_PRIVATE_COUNT;
}
