#pragma once

#include <string>
#include <vector>

#include "ctg/partners/v1/partners.pb.h"

// Pure rules of the steering committee (COPIL, art. 8 of the convention): composition at parity
// of the Caf, the agglomeration, the communes, the Département and the State; resource persons
// with a consultative voice; co-chaired by the Caf and the agglomeration; permanent secretariat
// held by the agglomeration.
namespace ctg::partners {

// The five voting colleges of art. 8, in the order CheckCopilComposition reports them.
const std::vector<::ctg::partners::v1::CopilCollege>& VotingColleges();

// True when an organisation of kind `kind` may sit in `college`: the Caf college takes a CAF,
// the agglomeration college an EPCI, the communes college a COMMUNE, the Département college a
// DEPARTEMENT and the State college the STATE or the EDUCATION_NATIONALE; a consultative member
// may come from any organisation.
bool KindFitsCollege(::ctg::partners::v1::OrganisationKind kind,
                     ::ctg::partners::v1::CopilCollege college);

// Checks the composition of a COPIL from all its members. Every member of the five voting
// colleges counts as a voting member, whatever its role; consultative members are left out.
// Compliant when the five colleges have the same non-zero number of voting members, exactly one
// co-chair comes from the Caf college and one from the agglomeration college (and no other
// member is co-chair), and the secretariat is designated and held by the agglomeration college
// only. Each problem is described by one French sentence in `issues`.
::ctg::partners::v1::CopilComposition CheckComposition(
    const std::vector<::ctg::partners::v1::CopilMember>& members);

}  // namespace ctg::partners
