/**
 * Checking the hot path (src/http/hot_responses.ts) from outside: a read
 * answered from memory must look exactly like the routes' answer.
 *
 * @module
 */
import assert from "node:assert/strict";

/** What a client sees of a response, without what differs per request. */
export interface SeenResponse {
  status: number;
  headers: [string, string][];
  body: string;
}

/** A response reduced to what a client sees, without what differs per request. */
export async function seen(response: Response): Promise<SeenResponse> {
  const headers = [...response.headers].filter(([name]) => name !== "x-request-id" && name !== "date");
  return { status: response.status, headers, body: await response.text() };
}

/**
 * Sends the same request three times (the first goes through the routes, the
 * next ones are answered from memory when they can be) and asserts the three
 * answers are identical; returns the first.
 */
export async function sameThreeTimes(url: string, init: RequestInit = {}): Promise<SeenResponse> {
  const label = `${init.method ?? "GET"} ${url} ${JSON.stringify(init.headers ?? "")}`;
  const answers = [];
  for (let i = 0; i < 3; i++) answers.push(await seen(await fetch(url, init)));
  assert.deepEqual(answers[1], answers[0], label);
  assert.deepEqual(answers[2], answers[0], label);
  return answers[0];
}
