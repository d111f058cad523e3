package funchost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"golang.org/x/sync/errgroup"

	"github.com/bondingai/platform/shared/queue"
)

const (
	// PoisonBlobQueue is the queue that receives blobs whose invocations
	// failed poisonBlobThreshold times, named as in the real host.
	PoisonBlobQueue = "webjobs-blobtrigger-poison"

	// receiptsContainer holds the blob receipts, as in the real host.
	receiptsContainer = "azure-webjobs-hosts"

	// developmentStorage is what UseDevelopmentStorage=true means: the
	// well-known Azurite account on its default blob port.
	developmentStorage = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
		"AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
		"BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
)

// Receipt metadata keys. A receipt is an empty blob per function, blob and
// ETag that records tries, so a blob version fires once across restarts.
const (
	receiptAttempts  = "attempts"
	receiptCompleted = "completed"
	receiptPoisoned  = "poisoned"
)

// blobTrigger polls one container for one blobTrigger function. Each new
// blob ETag fires once; a failed invocation is retried on later scans until
// poisonBlobThreshold tries, then the blob goes to PoisonBlobQueue.
type blobTrigger struct {
	host      *Host
	function  *Function
	container string
	// prefix is the literal start of the blob path, used to narrow listing.
	prefix  string
	pattern *regexp.Regexp
	logger  *slog.Logger

	connectionString        string
	receiptConnectionString string
	blobs                   *container.Client
	receipts                *container.Client

	// finished caches blob versions whose receipt is marked completed.
	mu       sync.Mutex
	finished map[string]bool
}

func (h *Host) newBlobTrigger(function *Function) (*blobTrigger, error) {
	containerName, blobPath, ok := strings.Cut(strings.TrimPrefix(function.Trigger.Path, "/"), "/")
	if !ok || containerName == "" || strings.ContainsAny(containerName, "{}") {
		return nil, fmt.Errorf("function %s: invalid blobTrigger path %q: want container/blob-pattern with a literal container name", function.Name, function.Trigger.Path)
	}
	if strings.EqualFold(function.Trigger.Source, "EventGrid") {
		return nil, fmt.Errorf("function %s: blobTrigger source EventGrid is not supported by the local host: remove source to poll the container", function.Name)
	}
	pattern, prefix, err := compileBlobPattern(blobPath)
	if err != nil {
		return nil, fmt.Errorf("function %s: invalid blobTrigger path %q: %w", function.Name, function.Trigger.Path, err)
	}

	connection := function.Trigger.Connection
	if connection == "" {
		connection = "AzureWebJobsStorage"
	}
	connectionString, err := h.storageConnectionString(connection)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", function.Name, err)
	}
	receiptConnectionString := connectionString
	if _, ok := lookupSetting(h.settings, "AzureWebJobsStorage"); ok {
		if hostStorage, err := h.storageConnectionString("AzureWebJobsStorage"); err == nil {
			receiptConnectionString = hostStorage
		}
	}

	return &blobTrigger{
		host:                    h,
		function:                function,
		container:               containerName,
		prefix:                  prefix,
		pattern:                 pattern,
		logger:                  h.logger.With("function", function.Name, "container", containerName),
		connectionString:        connectionString,
		receiptConnectionString: receiptConnectionString,
		finished:                map[string]bool{},
	}, nil
}

// storageConnectionString resolves a storage connection setting.
func (h *Host) storageConnectionString(connection string) (string, error) {
	value, ok := lookupSetting(h.settings, connection)
	if !ok {
		for _, suffix := range []string{"__serviceUri", "__blobServiceUri", "__accountName"} {
			if _, identity := lookupSetting(h.settings, connection+suffix); identity {
				return "", fmt.Errorf("connection %s: identity-based storage connections are not supported by the local host: set %s to an Azurite connection string", connection, connection)
			}
		}
		return "", fmt.Errorf("connection setting %s not found: set it to an Azurite connection string or UseDevelopmentStorage=true", connection)
	}
	if strings.EqualFold(strings.TrimSuffix(strings.TrimSpace(value), ";"), "UseDevelopmentStorage=true") {
		return developmentStorage, nil
	}
	return value, nil
}

// compileBlobPattern turns a blob path template such as
// "{orgId}/{documentId}/{name}" into a regular expression with one named
// group per parameter. Parameters match lazily up to the next literal, so
// the last one takes the rest of the name, "/" included.
func compileBlobPattern(template string) (*regexp.Regexp, string, error) {
	var expression strings.Builder
	expression.WriteString("^")
	prefix := template
	if open := strings.IndexByte(template, '{'); open >= 0 {
		prefix = template[:open]
	}

	rest := template
	seen := map[string]bool{}
	for {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			if strings.ContainsRune(rest, '}') {
				return nil, "", errors.New("unbalanced braces")
			}
			expression.WriteString(regexp.QuoteMeta(rest))
			break
		}
		closing := strings.IndexByte(rest[open:], '}')
		if closing < 0 {
			return nil, "", errors.New("unbalanced braces")
		}
		name := rest[open+1 : open+closing]
		if !parameterName.MatchString(name) {
			return nil, "", fmt.Errorf("invalid parameter name %q", name)
		}
		if seen[name] {
			return nil, "", fmt.Errorf("parameter %s appears twice", name)
		}
		seen[name] = true
		expression.WriteString(regexp.QuoteMeta(rest[:open]))
		fmt.Fprintf(&expression, "(?P<%s>.+?)", name)
		rest = rest[open+closing+1:]
	}
	expression.WriteString("$")

	pattern, err := regexp.Compile(expression.String())
	if err != nil {
		return nil, "", err
	}
	return pattern, prefix, nil
}

// matchBlob returns the path parameters of blobName, or false when the
// name does not fit the pattern.
func (t *blobTrigger) matchBlob(blobName string) (map[string]string, bool) {
	match := t.pattern.FindStringSubmatch(blobName)
	if match == nil {
		return nil, false
	}
	parameters := map[string]string{}
	for index, name := range t.pattern.SubexpNames() {
		if name != "" {
			parameters[name] = match[index]
		}
	}
	return parameters, true
}

// connect creates the storage clients and the receipts container.
func (t *blobTrigger) connect(ctx context.Context) error {
	blobs, err := container.NewClientFromConnectionString(t.connectionString, t.container, nil)
	if err != nil {
		return fmt.Errorf("function %s: connect to container %s: %w", t.function.Name, t.container, err)
	}
	receipts, err := container.NewClientFromConnectionString(t.receiptConnectionString, receiptsContainer, nil)
	if err != nil {
		return fmt.Errorf("function %s: connect to receipts container: %w", t.function.Name, err)
	}
	if _, err := receipts.Create(ctx, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return fmt.Errorf("function %s: create container %s: %w", t.function.Name, receiptsContainer, err)
	}
	t.blobs = blobs
	t.receipts = receipts
	return nil
}

// run scans the container until ctx ends.
func (t *blobTrigger) run(ctx context.Context) error {
	t.logger.Info("blob trigger polling", "path", t.function.Trigger.Path, "interval", t.host.config.BlobPollInterval.String())
	missingLogged := false
	for {
		err := t.scan(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case bloberror.HasCode(err, bloberror.ContainerNotFound):
			if !missingLogged {
				t.logger.Warn("blob container not found, waiting for it to be created")
				missingLogged = true
			}
		case err != nil:
			t.logger.Error("scan blob container failed", "error", err)
		default:
			missingLogged = false
		}

		pause(ctx, t.host.config.BlobPollInterval)
	}
}

// scan lists the container once and processes every blob version without a
// completed receipt, up to maxDegreeOfParallelism at a time.
func (t *blobTrigger) scan(ctx context.Context) error {
	group, groupCtx := errgroup.WithContext(ctx)
	group.SetLimit(t.host.app.Host.MaxDegreeOfParallelism)

	pager := t.blobs.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{
		Prefix:  to.Ptr(t.prefix),
		Include: container.ListBlobsInclude{Metadata: true},
	})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			group.Wait() //nolint:errcheck // process never returns an error
			return err
		}
		for _, item := range page.Segment.BlobItems {
			if item.Name == nil || item.Properties == nil || item.Properties.ETag == nil {
				continue
			}
			name, etag, listedMetadata := *item.Name, string(*item.Properties.ETag), item.Metadata
			parameters, ok := t.matchBlob(name)
			if !ok || t.isFinished(name, etag) {
				continue
			}
			t.host.invocations.Add(1)
			group.Go(func() error {
				defer t.host.invocations.Done()
				t.process(context.WithoutCancel(groupCtx), name, etag, parameters, listedMetadata)
				return nil
			})
		}
	}
	return group.Wait()
}

func (t *blobTrigger) isFinished(name, etag string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.finished[name+"\x00"+etag]
}

func (t *blobTrigger) markFinished(name, etag string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.finished[name+"\x00"+etag] = true
}

// receiptName is the receipt path the real host uses:
// blobreceipts/<host id>/<function id>/<ETag>/<container>/<blob name>.
func (t *blobTrigger) receiptName(name, etag string) string {
	return strings.Join([]string{
		"blobreceipts", t.host.hostID(), t.functionID(), strings.Trim(etag, `"`), t.container, name,
	}, "/")
}

func (t *blobTrigger) functionID() string {
	return "Host.Functions." + t.function.Name
}

// process tries one blob version once and records the outcome.
// listedMetadata is the user metadata from the container listing, which
// keeps the names' case, unlike the download headers.
func (t *blobTrigger) process(ctx context.Context, name, etag string, parameters map[string]string, listedMetadata map[string]*string) {
	logger := t.logger.With("blob_name", name, "etag", etag)
	receipt := t.receipts.NewBlockBlobClient(t.receiptName(name, etag))

	attempts := 0
	properties, err := receipt.GetProperties(ctx, nil)
	switch {
	case err == nil:
		if metadataValue(properties.Metadata, receiptCompleted) == "true" {
			t.markFinished(name, etag)
			return
		}
		attempts, _ = strconv.Atoi(metadataValue(properties.Metadata, receiptAttempts))
	case bloberror.HasCode(err, bloberror.BlobNotFound) || isStatus(err, 404):
	default:
		logger.Error("read blob receipt failed", "error", err)
		return
	}

	input, err := t.download(ctx, name, etag)
	if bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ConditionNotMet) || isStatus(err, 404) || isStatus(err, 412) {
		// Deleted or replaced before it was processed: this version is
		// gone, and a newer one has its own ETag.
		logger.Info("blob deleted or changed before it was processed, skipped")
		t.markFinished(name, etag)
		return
	}
	if err != nil {
		logger.Error("download blob failed", "error", err)
		return
	}
	if listedMetadata != nil {
		input.Metadata = map[string]string{}
		for key, value := range listedMetadata {
			input.Metadata[key] = deref(value)
		}
	}

	attempts++
	_, invokeErr := t.host.invoke(ctx, t.function, blobPayload(t.function, input, parameters, time.Now()),
		"blob_name", name, "attempt", attempts)
	metadata := map[string]*string{receiptAttempts: to.Ptr(strconv.Itoa(attempts))}

	switch {
	case invokeErr == nil:
		metadata[receiptCompleted] = to.Ptr("true")
	case attempts >= t.host.app.Host.PoisonBlobThreshold:
		if err := t.sendToPoisonQueue(ctx, name, etag); err != nil {
			logger.Error("send blob to poison queue failed, will retry", "error", err)
			return
		}
		metadata[receiptCompleted] = to.Ptr("true")
		metadata[receiptPoisoned] = to.Ptr("true")
		logger.Error("blob moved to poison queue", "queue", PoisonBlobQueue, "attempts", attempts)
	default:
		logger.Warn("blob invocation failed, will retry", "attempt", attempts, "poison_blob_threshold", t.host.app.Host.PoisonBlobThreshold)
	}

	if _, err := receipt.UploadBuffer(ctx, nil, &azblob.UploadBufferOptions{Metadata: metadata}); err != nil {
		logger.Error("write blob receipt failed", "error", err)
		return
	}
	if metadata[receiptCompleted] != nil {
		t.markFinished(name, etag)
	}
}

// download reads one blob; a non-empty etag makes it fail with
// ConditionNotMet if the blob changed since it was listed.
func (t *blobTrigger) download(ctx context.Context, name, etag string) (*blobInput, error) {
	client := t.blobs.NewBlobClient(name)
	options := &blob.DownloadStreamOptions{}
	if etag != "" {
		options.AccessConditions = &blob.AccessConditions{
			ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: to.Ptr(azcore.ETag(etag))},
		}
	}
	response, err := client.DownloadStream(ctx, options)
	if err != nil {
		return nil, err
	}
	defer response.Body.Close()
	content, err := io.ReadAll(response.Body)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", name, err)
	}

	input := &blobInput{
		Container:          t.container,
		Name:               name,
		URL:                blobURL(t.blobs.URL(), name),
		Content:            content,
		ContentType:        deref(response.ContentType),
		ContentEncoding:    deref(response.ContentEncoding),
		ContentLanguage:    deref(response.ContentLanguage),
		ContentDisposition: deref(response.ContentDisposition),
		CacheControl:       deref(response.CacheControl),
		ContentMD5:         response.ContentMD5,
		Metadata:           map[string]string{},
	}
	if response.ETag != nil {
		input.ETag = string(*response.ETag)
	}
	if response.LastModified != nil {
		input.LastModified = *response.LastModified
	}
	if response.CreationTime != nil {
		input.CreatedOn = *response.CreationTime
	}
	// NOTE: the SDK returns metadata names from response headers in
	// canonical form ("Source" for "source"). Scans replace them with the
	// listing's names, but on-demand invocations keep the canonical form.
	for key, value := range response.Metadata {
		input.Metadata[key] = deref(value)
	}
	return input, nil
}

// sendToPoisonQueue writes the real host's poison message. Its MessageId
// is derived from the blob version, so a retried send is dropped as a
// duplicate.
func (t *blobTrigger) sendToPoisonQueue(ctx context.Context, name, etag string) error {
	sender, err := t.host.localQueueFor(ctx, t.host.config.PoisonQueueConnection)
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]string{
		"FunctionId":    t.functionID(),
		"BlobType":      "BlockBlob",
		"ContainerName": t.container,
		"BlobName":      name,
		"ETag":          etag,
	})
	if err != nil {
		return fmt.Errorf("encode poison message: %w", err)
	}
	return sender.Send(ctx, PoisonBlobQueue, queue.Message{
		ID:          t.functionID() + "/" + t.container + "/" + name + "/" + etag,
		Body:        body,
		ContentType: "application/json",
	})
}

// invokeOnDemand runs the function for the current version of one blob,
// for the admin API: no receipt, no retry.
func (t *blobTrigger) invokeOnDemand(ctx context.Context, containerName, name string) error {
	logger := t.logger.With("blob_name", name, "admin", true)
	if containerName != t.container {
		blobs, err := container.NewClientFromConnectionString(t.connectionString, containerName, nil)
		if err != nil {
			logger.Error("connect to container failed", "container", containerName, "error", err)
			return err
		}
		t.blobs = blobs
		t.container = containerName
	}
	input, err := t.download(ctx, name, "")
	if err != nil {
		logger.Error("download blob failed", "container", containerName, "error", err)
		return err
	}
	parameters, ok := t.matchBlob(name)
	if !ok {
		parameters = map[string]string{}
	}
	_, err = t.host.invoke(ctx, t.function, blobPayload(t.function, input, parameters, time.Now()), "blob_name", name, "admin", true)
	return err
}

// blobURL joins a container URL and a blob name, escaping each path
// segment but keeping the "/" separators, as the blob's Uri shows them.
func blobURL(containerURL, name string) string {
	segments := strings.Split(name, "/")
	for i, segment := range segments {
		segments[i] = url.PathEscape(segment)
	}
	return strings.TrimSuffix(containerURL, "/") + "/" + strings.Join(segments, "/")
}

// hostID is the id receipts are stored under: the AzureFunctionsWebHost__hostid
// setting, or the app folder name as the real host derives it from the site
// name (lower case, at most 32 characters).
func (h *Host) hostID() string {
	if id, ok := lookupSetting(h.settings, "AzureFunctionsWebHost__hostid"); ok && id != "" {
		return id
	}
	var id strings.Builder
	for _, r := range strings.ToLower(filepath.Base(h.app.Dir)) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			id.WriteRune(r)
		}
	}
	text := strings.Trim(id.String(), "-")
	if len(text) > 32 {
		text = text[:32]
	}
	if text == "" {
		text = "localhost"
	}
	return text
}

// metadataValue looks up blob metadata case-insensitively, because the SDK
// returns metadata names as canonical HTTP header names ("Attempts").
func metadataValue(metadata map[string]*string, name string) string {
	for key, value := range metadata {
		if strings.EqualFold(key, name) {
			return deref(value)
		}
	}
	return ""
}

func deref(value *string) string {
	if value == nil {
		return ""
	}
	return *value
}

// isStatus reports whether err is an Azure response error with status code.
func isStatus(err error, code int) bool {
	var responseErr *azcore.ResponseError
	return errors.As(err, &responseErr) && responseErr.StatusCode == code
}
