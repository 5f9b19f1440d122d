//go:build !race

package tcpchat_test

const raceEnabled = false
