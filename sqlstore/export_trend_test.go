package sqlstore

// AuthTrendSQL is the trend query, for the plan test.
var AuthTrendSQL = authTrendSQL

// QueryPlan is queryPlan for the external tests.
var QueryPlan = queryPlan
