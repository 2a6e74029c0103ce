package main

// scenarioWorker turns this process into a scenario worker when it was
// started as one. TEMPORARY until scenario.RunWorkerIfRequested exists.
func scenarioWorker() {}
