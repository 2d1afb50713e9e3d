package billing_test

import "github.com/carelog/carelog/services/billing"

type billingConfig billing.Config

func (c billingConfig) validate() error { return billing.Config(c).Validate() }
