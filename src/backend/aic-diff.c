/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A unified diff of two texts, line by line, for showing a write the
 * agent wants to make before the user approves it.
 *
 * The edit script comes from the longest common subsequence of the lines
 * (a table of n × m entries); past a size where that table would be too
 * big, the whole file is shown as replaced, which is still a correct diff.
 */
#include "config.h"

#include <string.h>

#include "aic-diff.h"

#define CONTEXT   3
#define MAX_CELLS (4u * 1024 * 1024)

typedef enum
{
  SAME,
  REMOVED,
  ADDED,
} Op;

typedef struct
{
  Op    op;
  guint old_line;   /* 0-based, in the old text (for SAME and REMOVED) */
  guint new_line;   /* 0-based, in the new text (for SAME and ADDED) */
} Edit;

/* Lines without their newlines; *out_no_newline says whether the last one
 * lacks it (only then is it marked in the diff). */
static char **
split_lines (const char *text,
             guint      *out_n,
             gboolean   *out_no_newline)
{
  GPtrArray *lines = g_ptr_array_new ();
  const char *start = text;

  *out_no_newline = FALSE;
  while (*start != '\0')
    {
      const char *end = strchr (start, '\n');

      if (end == NULL)
        {
          g_ptr_array_add (lines, g_strdup (start));
          *out_no_newline = TRUE;
          break;
        }
      g_ptr_array_add (lines, g_strndup (start, end - start));
      start = end + 1;
    }
  *out_n = lines->len;
  g_ptr_array_add (lines, NULL);
  return (char **) g_ptr_array_free (lines, FALSE);
}

static GArray *
edit_script (char **a,
             guint  n,
             char **b,
             guint  m)
{
  GArray *edits = g_array_new (FALSE, FALSE, sizeof (Edit));
  guint prefix = 0, suffix = 0;

  /* Common ends first: most edits touch a small part of a file. */
  while (prefix < n && prefix < m && strcmp (a[prefix], b[prefix]) == 0)
    prefix++;
  while (suffix < n - prefix && suffix < m - prefix &&
         strcmp (a[n - 1 - suffix], b[m - 1 - suffix]) == 0)
    suffix++;

  for (guint i = 0; i < prefix; i++)
    g_array_append_val (edits, ((Edit) { SAME, i, i }));

  {
    guint rows = n - prefix - suffix, cols = m - prefix - suffix;

    if ((guint64) (rows + 1) * (cols + 1) > MAX_CELLS)
      {
        for (guint i = 0; i < rows; i++)
          g_array_append_val (edits, ((Edit) { REMOVED, prefix + i, 0 }));
        for (guint j = 0; j < cols; j++)
          g_array_append_val (edits, ((Edit) { ADDED, 0, prefix + j }));
      }
    else
      {
        /* lcs[i][j]: the longest common subsequence of the middles from
         * line i and line j on. */
        guint32 *lcs = g_new0 (guint32, (gsize) (rows + 1) * (cols + 1));
        guint i = 0, j = 0;

#define LCS(r, c) lcs[(gsize) (r) * (cols + 1) + (c)]
        for (guint r = rows; r-- > 0;)
          for (guint c = cols; c-- > 0;)
            LCS (r, c) = strcmp (a[prefix + r], b[prefix + c]) == 0
                         ? LCS (r + 1, c + 1) + 1
                         : MAX (LCS (r + 1, c), LCS (r, c + 1));
        while (i < rows || j < cols)
          {
            if (i < rows && j < cols && strcmp (a[prefix + i], b[prefix + j]) == 0)
              {
                g_array_append_val (edits, ((Edit) { SAME, prefix + i, prefix + j }));
                i++, j++;
              }
            else if (i < rows && (j == cols || LCS (i + 1, j) >= LCS (i, j + 1)))
              {
                /* Removals before additions, as diff(1) shows them. */
                g_array_append_val (edits, ((Edit) { REMOVED, prefix + i, 0 }));
                i++;
              }
            else
              {
                g_array_append_val (edits, ((Edit) { ADDED, 0, prefix + j }));
                j++;
              }
          }
#undef LCS
        g_free (lcs);
      }
  }

  for (guint k = suffix; k > 0; k--)
    g_array_append_val (edits, ((Edit) { SAME, n - k, m - k }));
  return edits;
}

static void
append_line (GString    *out,
             char        mark,
             const char *line,
             gboolean    without_newline)
{
  g_string_append_c (out, mark);
  g_string_append (out, line);
  g_string_append_c (out, '\n');
  if (without_newline)
    g_string_append (out, "\\ No newline at end of file\n");
}

/* "start,count" as unified diffs write it: an empty range names the line
 * before it. */
static void
append_range (GString *out,
              guint    start,
              guint    count)
{
  if (count == 0)
    g_string_append_printf (out, "%u,0", start);
  else if (count == 1)
    g_string_append_printf (out, "%u", start + 1);
  else
    g_string_append_printf (out, "%u,%u", start + 1, count);
}

/**
 * aic_diff_unified:
 * @path: the file's name in the workspace, for the headers
 * @old_text: (nullable): its content now, %NULL when it does not exist
 * @new_text: what would be written
 *
 * Returns: a unified diff with three lines of context; "" when the two are
 *   the same
 */
char *
aic_diff_unified (const char *path,
                  const char *old_text,
                  const char *new_text)
{
  g_auto(GStrv) a = NULL;
  g_auto(GStrv) b = NULL;
  g_autoptr(GArray) edits = NULL;
  GString *out = g_string_new (NULL);
  gboolean a_open, b_open;
  guint n, m, k = 0;

  g_return_val_if_fail (path != NULL && new_text != NULL, NULL);

  a = split_lines (old_text ? old_text : "", &n, &a_open);
  b = split_lines (new_text, &m, &b_open);
  edits = edit_script (a, n, b, m);

  if (g_strcmp0 (old_text, new_text) == 0)
    return g_string_free (out, FALSE);

  g_string_append_printf (out, "--- %s%s\n+++ b/%s\n", old_text ? "a/" : "", old_text ? path : "/dev/null", path);
  while (k < edits->len)
    {
      guint first, last, old_start, new_start, old_count = 0, new_count = 0;
      GString *body = g_string_new (NULL);

      /* The next change, and the hunk around it: changes closer than twice
       * the context join one hunk. */
      while (k < edits->len && g_array_index (edits, Edit, k).op == SAME)
        k++;
      if (k == edits->len)
        {
          g_string_free (body, TRUE);
          break;
        }
      first = k >= CONTEXT ? k - CONTEXT : 0;
      last = k;
      for (guint x = k; x < edits->len; x++)
        {
          if (g_array_index (edits, Edit, x).op != SAME)
            last = x;
          else if (x - last > 2 * CONTEXT)
            break;
        }
      last = MIN (last + CONTEXT, edits->len - 1);

      old_start = new_start = G_MAXUINT;
      for (guint x = first; x <= last; x++)
        {
          Edit *edit = &g_array_index (edits, Edit, x);

          switch (edit->op)
            {
            case SAME:
              old_start = MIN (old_start, edit->old_line);
              new_start = MIN (new_start, edit->new_line);
              old_count++, new_count++;
              append_line (body, ' ', a[edit->old_line], b_open && edit->new_line == m - 1);
              break;
            case REMOVED:
              old_start = MIN (old_start, edit->old_line);
              old_count++;
              append_line (body, '-', a[edit->old_line], a_open && edit->old_line == n - 1);
              break;
            case ADDED:
              new_start = MIN (new_start, edit->new_line);
              new_count++;
              append_line (body, '+', b[edit->new_line], b_open && edit->new_line == m - 1);
              break;
            }
        }
      /* An empty side starts where the other side's lines are. */
      if (old_start == G_MAXUINT)
        {
          guint before = 0;

          for (guint x = 0; x < first; x++)
            if (g_array_index (edits, Edit, x).op != ADDED)
              before++;
          old_start = before;
        }
      if (new_start == G_MAXUINT)
        {
          guint before = 0;

          for (guint x = 0; x < first; x++)
            if (g_array_index (edits, Edit, x).op != REMOVED)
              before++;
          new_start = before;
        }
      g_string_append (out, "@@ -");
      append_range (out, old_start, old_count);
      g_string_append (out, " +");
      append_range (out, new_start, new_count);
      g_string_append (out, " @@\n");
      g_string_append_len (out, body->str, body->len);
      g_string_free (body, TRUE);
      k = last + 1;
    }
  return g_string_free (out, FALSE);
}
