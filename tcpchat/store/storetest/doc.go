// Package storetest is the conformance kit of tcpchat/store: Run checks that
// a Store implementation follows the contract documented on store.Store
// (offsets, acks, retention, subscriptions, replay log, sessions, closing)
// with a fake clock. Every implementation's tests call it. It owns no store.
package storetest
