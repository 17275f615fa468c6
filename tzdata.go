package main

// The time zone database is built in (about 450 KB of the binary), so a
// site's zone (Europe/Moscow) is found on a machine without
// /usr/share/zoneinfo: a minimal container, a stripped-down VPS image. Where
// the system has its own database it is read first, and so stays current.
import _ "time/tzdata"
