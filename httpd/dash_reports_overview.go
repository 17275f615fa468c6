package httpd

// overviewData is the sources report's head: totals with their change
// against the period before, and the charts.
type overviewData struct{}
