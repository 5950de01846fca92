/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for the job status parser: the JSON a backend answers
 * about a document job (its status, progress and result), as the job
 * client reads it, and a stored result as the job store reads it back.
 *
 * A status that parses leaves the job in a known state with progress in
 * 0–100; one that does not is refused with the project's error. */
#include "config.h"

#include "aic-error.h"
#include "aic-job.h"
#include "aic-json.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  AicJob *job = aic_job_new ("fuzz.pdf");
  GError *error = NULL;
  JsonNode *root = aic_json_parse_data ((const char *) data, size, NULL);
  char *text;

  if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
    {
      if (aic_job_update_from_json (job, json_node_get_object (root), &error))
        {
          int progress = aic_job_get_progress (job);

          g_assert (error == NULL);
          g_assert (progress >= 0 && progress <= 100);
          g_assert (aic_job_status_to_string (aic_job_get_status (job)) != NULL);
          g_free (aic_job_dup_markdown (job));
        }
      else
        {
          g_assert (error != NULL && error->domain == AIC_ERROR);
          g_clear_error (&error);
        }
    }
  g_clear_pointer (&root, json_node_unref);

  text = g_strndup ((const char *) data, size);
  if (aic_job_set_result_json (job, text, &error))
    g_free (aic_job_dup_markdown (job));
  else
    {
      g_assert (error != NULL && error->domain == AIC_ERROR);
      g_clear_error (&error);
    }
  g_free (text);
  g_object_unref (job);
  return 0;
}
