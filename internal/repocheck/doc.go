// Package repocheck holds checks over the whole repository that belong to
// no single package: every document cited in code, help text, scripts or
// other documents exists. It has no code of its own, only tests.
package repocheck
