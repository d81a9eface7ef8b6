package testlab_test

// The tests run runbook as the binary does: with every module.
import _ "github.com/runbook-lab/runbook/modules/all"
