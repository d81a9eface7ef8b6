package templates

import (
	"encoding/json"
	"fmt"

	"github.com/jmespath/go-jmespath"
)

// jsonQuery is community.general's json_query filter: a JMESPath
// expression over the value (the value last, as the filter takes it).
// The value goes through JSON first, so numbers compare as JMESPath's
// (float) numbers, as they do in Python's jmespath.
func jsonQuery(expr string, v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("json_query: %v", err)
	}
	var data any
	if err := json.Unmarshal(b, &data); err != nil {
		return nil, fmt.Errorf("json_query: %v", err)
	}
	out, err := jmespath.Search(expr, data)
	if err != nil {
		return nil, fmt.Errorf("json_query %q: %v", expr, err)
	}
	return wholeNumbers(out), nil
}

// wholeNumbers gives back a float that holds a whole number as an int (JSON
// made 3 into 3.0; Python's jmespath keeps 3).
func wholeNumbers(v any) any {
	switch x := v.(type) {
	case float64:
		if x == float64(int64(x)) && x < 1<<53 && x > -(1<<53) {
			return int64(x)
		}
	case []any:
		for i := range x {
			x[i] = wholeNumbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = wholeNumbers(x[k])
		}
	}
	return v
}
