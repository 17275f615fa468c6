package httpd

import (
	"github.com/prometheus/client_golang/prometheus"

	"appliance/export"
)

// exportCollector reads the event stream's state at each scrape.
type exportCollector struct{ x *export.Exporter }

var (
	descExportBacklog   = prometheus.NewDesc("appliance_export_backlog", "Events on disk waiting to be published to NATS JetStream.", nil, nil)
	descExportMax       = prometheus.NewDesc("appliance_export_backlog_max", "The most events that wait on disk (--export-backlog); past it new events are not exported.", nil, nil)
	descExportPublished = prometheus.NewDesc("appliance_export_published_total", "Events JetStream acknowledged since start.", nil, nil)
	descExportDropped   = prometheus.NewDesc("appliance_export_dropped_total", "Events not exported since start because the backlog was full.", nil, nil)
	descExportConnected = prometheus.NewDesc("appliance_export_connected", "1 while connected to NATS.", nil, nil)
)

func (c exportCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descExportBacklog, descExportMax, descExportPublished, descExportDropped, descExportConnected} {
		ch <- d
	}
}

func (c exportCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.x.Stats()
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	connected := 0.0
	if st.Connected {
		connected = 1
	}
	gauge(descExportBacklog, float64(st.Backlog))
	gauge(descExportMax, float64(st.Max))
	counter(descExportPublished, float64(st.Published))
	counter(descExportDropped, float64(st.Dropped))
	gauge(descExportConnected, connected)
}
