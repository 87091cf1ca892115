package conformance

import (
	"encoding/json"
	"fmt"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL reads best unqualified
)

// The seed's complete workflow: upload → execute → download, and files
// that persist across executions (seed "Complete workflow").
var _ = Describe("flows", Label("flows"), func() {
	const seedCode = `import json
with open('/home/baponi/input.json') as f:
    data = json.load(f)
result = {"sum": sum(data["values"]), "count": len(data["values"])}
with open('/home/baponi/output.json', 'w') as f:
    json.dump(result, f)
print(f"Processed {result['count']} values, sum = {result['sum']}")
`
	check("R-3", DOC, "the seed's flow: upload input.json, python writes output.json, download it", Label("execute"), func(c *Check) {
		c.Need(needExecute)
		sp := c.Thread("flow")
		input := []byte(`{"values": [1, 2, 3, 4, 5]}`)
		c.Upload(sp, "input.json", "application/json", input)
		e := c.ExecOK("python", seedCode, sp.ID)
		c.True(e.out() == "Processed 5 values, sum = 15\n", e.resp, "Processed 5 values, sum = 15", e.out(), "unexpected stdout")
		got := c.Download(sp, "output.json")
		var out map[string]int
		c.True(json.Unmarshal(got.Body, &out) == nil && out["sum"] == 15 && out["count"] == 5, got, `{"sum": 15, "count": 5}`, string(got.Body), "output.json is not the code's result")
		es, r := c.List(sp, nil)
		sizes := map[string]int64{}
		for _, e := range es {
			sizes[e.Path] = e.Size
		}
		c.True(len(es) == 2 && sizes["input.json"] == 27 && sizes["output.json"] == int64(len(got.Body)), r,
			fmt.Sprintf("input.json (27 bytes), output.json (%d bytes)", len(got.Body)), fmt.Sprint(sizes), "the thread does not hold exactly the two files")
	})

	check("R-3", DOC, "persistence across executions: each run extends what the last one left", Label("execute"), func(c *Check) {
		c.Need(needExecute)
		sp := c.Thread("flow-persist")
		c.Upload(sp, "counter.txt", "text/plain", []byte("0"))
		code := "n = int(open('/home/baponi/counter.txt').read())\nopen('/home/baponi/counter.txt','w').write(str(n+1))\nprint(n+1)"
		for i := 1; i <= 3; i++ {
			e := c.ExecOK("python", code, sp.ID)
			c.True(e.out() == fmt.Sprintf("%d\n", i), e.resp, fmt.Sprint(i), e.out(), "execution %d did not see the previous state", i)
		}
		got := c.Download(sp, "counter.txt")
		c.True(string(got.Body) == "3", got, "3", string(got.Body), "the final state does not download")
	})

	check("D-1", DOC, "files only: upload, list, download, replace, delete in a thread and a volume", nil, func(c *Check) {
		for _, sp := range []space{c.Thread("flow-files"), {"volume", c.rs.cfg.RWVolume}} {
			if sp.ID == "" {
				continue
			}
			p := "report/summary.txt"
			if sp.Source == "volume" {
				p = c.VolPath("summary.txt")
			}
			c.Upload(sp, p, "text/plain", []byte("v1"))
			c.Upload(sp, p, "text/plain", []byte("version 2"))
			got := c.Download(sp, p)
			c.True(string(got.Body) == "version 2", got, "version 2", string(got.Body), "%s: download after replace", sp)
			c.OK(c.DeleteResp(sp, p))
			c.NotStored(sp, p)
		}
	})
})
