/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for the depth-checked JSON entry (aic_json_parse_data),
 * through which every piece of JSON from outside reaches json-glib.
 *
 * Besides crashes, it checks the entry's promise: whatever it accepts is
 * nested no deeper than AIC_JSON_MAX_DEPTH, measured on the tree json-glib
 * built rather than on the text, and it never refuses text for depth that
 * the tree shows to be shallow enough. */
#include "config.h"

#include <string.h>

#include "aic-error.h"
#include "aic-json.h"

static guint
tree_depth (JsonNode *node)
{
  guint deepest = 0;

  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          /* Not inside MAX(), which would evaluate it twice per level. */
          guint depth = tree_depth (json_array_get_element (array, i));

          deepest = MAX (deepest, depth);
        }
      return deepest + 1;
    }
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObjectIter iter;
      JsonNode *member;

      json_object_iter_init (&iter, json_node_get_object (node));
      while (json_object_iter_next (&iter, NULL, &member))
        {
          guint depth = tree_depth (member);

          deepest = MAX (deepest, depth);
        }
      return deepest + 1;
    }
  return 0;
}

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  GError *error = NULL;
  JsonNode *root = aic_json_parse_data ((const char *) data, size, &error);
  gboolean deep;

  deep = !aic_json_check_depth ((const char *) data, size, AIC_JSON_MAX_DEPTH, NULL);
  if (root != NULL)
    {
      g_assert (error == NULL);
      g_assert (!deep);
      g_assert (tree_depth (root) <= AIC_JSON_MAX_DEPTH);
      /* What was read can be written and read again, to the same tree. */
      {
        char *text = aic_json_to_string (root, FALSE);
        JsonNode *again = aic_json_parse_data (text, -1, NULL);

        g_assert (again != NULL);
        g_assert (json_node_equal (root, again));
        json_node_unref (again);
        g_free (text);
      }
      json_node_unref (root);
    }
  else
    {
      g_assert (error != NULL);
      g_assert (error->domain == AIC_ERROR && error->code == AIC_ERROR_PROTOCOL);
      g_error_free (error);
    }
  return 0;
}
