package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LoadFile reads rules from a YAML or JSON file: a list of rules, one rule,
// or {"faults": [...]} (the form GET /_emulator/faults returns).
func LoadFile(path string) ([]Rule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("faults file: %w", err)
	}
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil { // YAML is a superset of JSON
		return nil, fmt.Errorf("faults file %s: %w", path, err)
	}
	if m, ok := doc.(map[string]any); ok {
		if list, ok := m["faults"]; ok {
			doc = list
		}
	}
	items, ok := doc.([]any)
	if !ok {
		items = []any{doc}
	}
	rules := make([]Rule, 0, len(items))
	for i, it := range items {
		raw, err := json.Marshal(it)
		if err != nil {
			return nil, fmt.Errorf("faults file %s: rule %d: %w", path, i+1, err)
		}
		var r Rule
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("faults file %s: rule %d: %s", path, i+1, strings.TrimPrefix(err.Error(), "json: "))
		}
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("faults file %s: rule %d: %w", path, i+1, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}
