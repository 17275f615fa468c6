package numbers

// ParseWritten is parseWritten, for FuzzParsePhone: the digits as written,
// before an international call prefix is read as "+".
var ParseWritten = parseWritten

// SplitNumber is splitNumber, for FuzzParsePhone.
var SplitNumber = splitNumber
