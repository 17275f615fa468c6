package main

import "golang.org/x/sys/unix"

// echoOff turns the echo of the terminal fd off (the caller restores the
// state it saved), so that what is typed before term.ReadPassword takes
// the terminal is not shown either: a prompt is printed first, and a fast
// typist (or a script) may answer it before the read begins.
func echoOff(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Lflag &^= unix.ECHO
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}
