package uselite

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// manifest is the part of a TensorFlow.js model.json that locates weights:
// groups of shard files whose concatenated bytes hold the listed tensors
// back to back, in order.
type manifest struct {
	WeightsManifest []struct {
		Paths   []string `json:"paths"`
		Weights []struct {
			Name         string          `json:"name"`
			Shape        []int           `json:"shape"`
			Dtype        string          `json:"dtype"`
			Quantization json.RawMessage `json:"quantization"`
		} `json:"weights"`
	} `json:"weightsManifest"`
}

// tensor is one float32 weight in row-major order.
type tensor struct {
	shape []int
	data  []float32
}

// readTensors reads every float32 tensor named in dir/model.json from its
// shards. Integer tensors are skipped because they only hold graph shape
// constants that the Go forward pass hard-codes.
func readTensors(dir string) (map[string]tensor, error) {
	manifestPath := filepath.Join(dir, "model.json")
	raw, err := os.ReadFile(manifestPath)
	if err != nil {
		return nil, fmt.Errorf("read model manifest %s: %w", manifestPath, err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("parse model manifest %s: %w", manifestPath, err)
	}
	if len(m.WeightsManifest) == 0 {
		return nil, fmt.Errorf("parse model manifest %s: no weightsManifest entries", manifestPath)
	}

	tensors := make(map[string]tensor)
	for _, group := range m.WeightsManifest {
		var data []byte
		for _, shard := range group.Paths {
			shardPath := filepath.Join(dir, filepath.FromSlash(shard))
			b, err := os.ReadFile(shardPath)
			if err != nil {
				return nil, fmt.Errorf("read weight shard %s: %w", shardPath, err)
			}
			data = append(data, b...)
		}

		offset := 0
		for _, w := range group.Weights {
			if len(w.Quantization) > 0 && string(w.Quantization) != "null" {
				return nil, fmt.Errorf("read weight %s: quantized weights are not supported", w.Name)
			}
			count := 1
			for _, d := range w.Shape {
				count *= d
			}
			// float32 and int32 are the only dtypes in this model, both 4 bytes.
			if w.Dtype != "float32" && w.Dtype != "int32" {
				return nil, fmt.Errorf("read weight %s: unsupported dtype %q", w.Name, w.Dtype)
			}
			size := 4 * count
			if offset+size > len(data) {
				return nil, fmt.Errorf("read weight %s: shards end at byte %d, weight needs bytes %d to %d",
					w.Name, len(data), offset, offset+size)
			}
			if w.Dtype == "float32" {
				values := make([]float32, count)
				for i := range values {
					values[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[offset+4*i:]))
				}
				tensors[w.Name] = tensor{shape: w.Shape, data: values}
			}
			offset += size
		}
		if offset != len(data) {
			return nil, fmt.Errorf("read weights from %v: %d bytes left after the last weight", group.Paths, len(data)-offset)
		}
	}
	return tensors, nil
}

// weightLookup fetches named tensors and remembers the first missing or
// misshapen one, so Load can report it once after all lookups.
type weightLookup struct {
	tensors map[string]tensor
	err     error
}

// get returns the data of the tensor called name, which must have shape.
func (l *weightLookup) get(name string, shape ...int) []float32 {
	if l.err != nil {
		return nil
	}
	t, ok := l.tensors[name]
	if !ok {
		l.err = fmt.Errorf("weight %s: not found in model.json", name)
		return nil
	}
	if !equalShape(t.shape, shape) {
		l.err = fmt.Errorf("weight %s: shape %v, expected %v", name, t.shape, shape)
		return nil
	}
	return t.data
}

// scalar returns the single value of the tensor called name.
func (l *weightLookup) scalar(name string) float32 {
	data := l.get(name)
	if data == nil {
		return 0
	}
	return data[0]
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
