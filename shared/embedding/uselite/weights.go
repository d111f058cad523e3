package uselite

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
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
		data, err := readShards(dir, group.Paths)
		if err != nil {
			return nil, err
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

// readShards returns the concatenated bytes of the shard files, read into
// one buffer of their total size.
func readShards(dir string, shards []string) ([]byte, error) {
	paths := make([]string, len(shards))
	sizes := make([]int, len(shards))
	total := 0
	for i, shard := range shards {
		paths[i] = filepath.Join(dir, filepath.FromSlash(shard))
		info, err := os.Stat(paths[i])
		if err != nil {
			return nil, fmt.Errorf("read weight shard %s: %w", paths[i], err)
		}
		sizes[i] = int(info.Size())
		total += sizes[i]
	}

	data := make([]byte, total)
	offset := 0
	for i, path := range paths {
		if err := readFull(path, data[offset:offset+sizes[i]]); err != nil {
			return nil, fmt.Errorf("read weight shard %s: %w", path, err)
		}
		offset += sizes[i]
	}
	return data, nil
}

// readFull fills buffer from the start of the file at path.
func readFull(path string, buffer []byte) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	_, err = io.ReadFull(file, buffer)
	return err
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
