package conformance

// clauses split each rule into the parts that can break on their own
// (see Clause). Every clause is cited by at least one check (a label with
// the clause ID) and broken by at least one deviation in mutation_test.go.
var clauses = map[string][]Clause{}
