package sqlstore

// AuthTrendSQL is the trend query, for the plan test.
var AuthTrendSQL = authTrendSQL
