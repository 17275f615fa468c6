package store

// Mark is what staff made of a lead or callback (MarkKey): its status and a
// short note, who set them and when.
type Mark struct {
	Status string // "new", "in_progress", "done" or "spam"
	Note   string
	By     string // email of the user who set it
	Time   int64  // Unix ms
}

const markVersion = 1

// Encode returns the versioned encoding of m.
func (m *Mark) Encode() []byte {
	e := newEncoder(markVersion, 32+len(m.Note)+len(m.By))
	e.str(m.Status)
	e.str(m.Note)
	e.str(m.By)
	e.int(m.Time)
	return e.b
}

// DecodeMark decodes a Mark of any version.
func DecodeMark(b []byte) (Mark, error) {
	d, _ := newDecoder(b, "mark", markVersion)
	m := Mark{Status: d.str(), Note: d.str(), By: d.str(), Time: d.int()}
	return m, d.done()
}
