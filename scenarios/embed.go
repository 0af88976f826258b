// Package scenarios holds the scenario files that the explore command
// names without a path: the zoo of historical bugs (--scenario zoo:NAME,
// --bug NAME), one file per allocsim.Zoo entry.
package scenarios

import "embed"

// Zoo holds zoo/NAME.scn for every historical bug.
//
//go:embed zoo/*.scn
var Zoo embed.FS

// ZooText returns the text of zoo/NAME.scn.
func ZooText(name string) ([]byte, error) { return Zoo.ReadFile("zoo/" + name + ".scn") }
