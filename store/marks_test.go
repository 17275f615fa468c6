package store

// Marks join the generic codec tests of records_test.go (round trip,
// truncation, versions, UTF-8, fuzzing).
func init() {
	codecs = append(codecs,
		codec{"mark", func(b []byte) (any, error) { return DecodeMark(b) }, func(r any) []byte { m := r.(Mark); return m.Encode() }},
	)
	samples["mark"] = []any{
		Mark{},
		Mark{Status: "spam", Note: "бот, <script>", By: "owner@example.com", Time: 1700000000000},
		Mark{Status: "done", Note: long, By: unicode, Time: -1 << 63},
	}
}
