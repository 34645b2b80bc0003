/**
 * Typed errors of the registry. Core and format code throw these; the HTTP
 * layer maps them to `application/problem+json` responses in one place
 * (`src/http/problem.ts`). Anything else thrown is an internal error (500).
 *
 * @module
 */

/** Base class: an error a client can be told about, with its HTTP status. */
export class RegistryError extends Error {
  /** HTTP status this error maps to. */
  readonly status: number;
  /** Short, stable summary of the problem type (RFC 7807 `title`). */
  readonly title: string;
  /** Extra response headers (e.g. `Retry-After`, `WWW-Authenticate`, `Location`). */
  readonly headers: Record<string, string>;
  /** Extension members of the problem document (RFC 7807 §3.2), where a subclass has some. */
  readonly members?: Record<string, string>;

  constructor(
    status: number,
    title: string,
    detail: string,
    headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = new.target.name;
    this.status = status;
    this.title = title;
    this.headers = headers;
  }
}

/** The request is malformed: bad scope, name, version, query or body. */
export class BadRequestError extends RegistryError {
  constructor(detail: string) {
    super(400, "Bad Request", detail);
  }
}

/**
 * No credentials, or credentials that are not valid. The `WWW-Authenticate`
 * challenge is the format's choice (SwiftPM hangs on a `Basic` one, pip needs
 * it), so it is added where the error becomes a response, unless given here.
 */
export class UnauthorizedError extends RegistryError {
  constructor(detail: string, challenge?: string) {
    super(401, "Unauthorized", detail, challenge === undefined ? {} : { "WWW-Authenticate": challenge });
  }
}

/** Valid credentials that may not perform the action. */
export class ForbiddenError extends RegistryError {
  constructor(detail: string) {
    super(403, "Forbidden", detail);
  }
}

/** The package, release or resource does not exist. */
export class NotFoundError extends RegistryError {
  constructor(detail: string) {
    super(404, "Not Found", detail);
  }
}

/** The method is not offered for this resource (e.g. publishing disabled). */
export class MethodNotAllowedError extends RegistryError {
  constructor(detail: string, allow?: string) {
    super(405, "Method Not Allowed", detail, allow ? { Allow: allow } : {});
  }
}

/** None of the media types the client accepts is served (`Accept`). */
export class NotAcceptableError extends RegistryError {
  constructor(detail: string) {
    super(406, "Not Acceptable", detail);
  }
}

/** The release already exists or is being published right now. */
export class ConflictError extends RegistryError {
  constructor(detail: string, headers: Record<string, string> = {}) {
    super(409, "Conflict", detail, headers);
  }
}

/** The resource existed and was removed on purpose (a release taken down). */
export class GoneError extends RegistryError {
  constructor(detail: string) {
    super(410, "Gone", detail);
  }
}

/** A body or part is larger than the registry accepts. */
export class PayloadTooLargeError extends RegistryError {
  constructor(detail: string) {
    super(413, "Payload Too Large", detail);
  }
}

/** The requested API version or media type is not supported. */
export class UnsupportedMediaTypeError extends RegistryError {
  constructor(detail: string) {
    super(415, "Unsupported Media Type", detail);
  }
}

/** A range request that cannot be satisfied. */
export class RangeNotSatisfiableError extends RegistryError {
  constructor(size: number) {
    super(416, "Range Not Satisfiable", "the requested range is not satisfiable", {
      "Content-Range": `bytes */${size}`,
    });
  }
}

/** The request is well-formed but its content is refused (bad archive, bad metadata). */
export class UnprocessableError extends RegistryError {
  constructor(detail: string) {
    super(422, "Unprocessable Content", detail);
  }
}

/**
 * A signed publish failed one of the signature checks (or a scope requires a
 * signature). `check` names the check; it is a member of the problem document.
 */
export class SignatureRefusedError extends UnprocessableError {
  /** The check that failed, e.g. `certificate-usage`. */
  readonly check: string;
  override readonly members: Record<string, string>;

  constructor(check: string, detail: string) {
    super(detail);
    this.check = check;
    this.members = { check };
  }
}

/**
 * A release is signed by another entity than the package's earlier releases
 * (or not signed at all) and no admin allowed the change. A conflict, though
 * the version itself is free: ingestion must not take it for "already there".
 */
export class SignerChangeError extends ConflictError {
  constructor(detail: string) {
    super(detail);
  }
}

/** A dependency (storage) is temporarily unavailable. */
export class ServiceUnavailableError extends RegistryError {
  constructor(detail: string, retryAfterSeconds = 5) {
    super(503, "Service Unavailable", detail, {
      "Retry-After": String(retryAfterSeconds),
    });
  }
}

/** An upstream registry failed or sent something wrong (bytes that do not match its checksums). */
export class BadGatewayError extends RegistryError {
  constructor(detail: string, retryAfterSeconds = 5) {
    super(502, "Bad Gateway", detail, { "Retry-After": String(retryAfterSeconds) });
  }
}

/** An upstream registry did not answer in time. */
export class GatewayTimeoutError extends RegistryError {
  constructor(detail: string, retryAfterSeconds = 5) {
    super(504, "Gateway Timeout", detail, { "Retry-After": String(retryAfterSeconds) });
  }
}

/** The server has no disk space (or quota) left to store the request; nothing of it was kept. */
export class InsufficientStorageError extends RegistryError {
  constructor(detail: string, retryAfterSeconds = 60) {
    super(507, "Insufficient Storage", detail, {
      "Retry-After": String(retryAfterSeconds),
    });
  }
}
