/** A sample's values read page after page: the API answers at most one page per request. */
import { api, unwrap, type Schemas } from "./client";

export type RawValues = Schemas["RawValues"];

/** Follows `next_start` from row 0 to the end and joins the pages, in order, into one. */
export async function readAllPages(readPage: (start: number) => Promise<RawValues>): Promise<RawValues> {
  const first = await readPage(0);
  const values = first.values.slice();
  let next = first.next_start;
  while (next != null) {
    const page = await readPage(next);
    for (const row of page.values) values.push(row);
    next = page.next_start;
  }
  return { ...first, count: values.length, next_start: null, values };
}

/** Every value of a sample (time x axes). */
export function readSampleValues(projectId: number, sampleId: number): Promise<RawValues> {
  return readAllPages((start) =>
    unwrap(
      api.GET("/api/projects/{project_id}/samples/{sample_id}/values", {
        params: { path: { project_id: projectId, sample_id: sampleId }, query: { start } },
      }),
    ),
  );
}
