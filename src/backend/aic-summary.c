/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-backend"

#include "config.h"

#include <math.h>
#include <string.h>

#include "aic-summary.h"
#include "aic-summary-private.h"

/* Summaries without a language model, for the demo engine, and the text
 * handling both engines share.
 *
 * The extractive method is Luhn's, in a modern dress: a sentence scores
 * the sum of its distinct content words' frequencies in the whole text
 * (each normalised by the most frequent word), divided by the square root
 * of its length so long sentences do not win by length alone; the opening
 * sentence gets a small bonus because documents tend to state their point
 * first. The best sentences are kept in document order. Everything is
 * deterministic: ties go to the earlier sentence. */

#define MIN_WORDS 4
#define SUMMARY_SENTENCES 3
#define MAX_KEY_POINTS 5
#define KEY_POINT_CHARS 160

/* Sorted, for bsearch(). */
static const char * const stop_words[] = {
  "a", "about", "above", "after", "again", "against", "all", "also", "am", "an",
  "and", "any", "are", "as", "at", "be", "because", "been", "before", "being",
  "below", "between", "both", "but", "by", "can", "could", "did", "do", "does",
  "doing", "down", "during", "each", "few", "for", "from", "further", "had",
  "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how",
  "i", "if", "in", "into", "is", "it", "its", "itself", "just", "may", "me",
  "might", "more", "most", "must", "my", "no", "nor", "not", "now", "of", "off",
  "on", "once", "one", "only", "or", "other", "our", "out", "over", "own",
  "same", "she", "should", "so", "some", "such", "than", "that", "the", "their",
  "them", "then", "there", "these", "they", "this", "those", "through", "to",
  "too", "under", "until", "up", "upon", "us", "very", "was", "we", "were",
  "what", "when", "where", "which", "while", "who", "whom", "why", "will",
  "with", "would", "you", "your",
};

static gsize bytes_read;

/* What the summary code has read of texts, in bytes: a test's proof that
 * a document is read once (aic-summary-private.h). */
gsize
aic_summary_debug_get_bytes_read (void)
{
  return (gsize) g_atomic_pointer_get (&bytes_read);
}

static void
count_read (gsize n)
{
  g_atomic_pointer_add (&bytes_read, (gssize) n);
}

void
aic_summary_free (AicSummary *summary)
{
  if (summary == NULL)
    return;
  g_free (summary->title);
  g_free (summary->summary);
  g_strfreev (summary->key_points);
  g_free (summary);
}

static int
compare_word (const void *key,
              const void *element)
{
  return strcmp (key, *(const char * const *) element);
}

static gboolean
is_stop_word (const char *word)
{
  return bsearch (word, stop_words, G_N_ELEMENTS (stop_words), sizeof stop_words[0], compare_word) != NULL;
}

/* Lower-cased words of letters and digits, in order. */
static GPtrArray *
split_words (const char *text)
{
  GPtrArray *words = g_ptr_array_new_with_free_func (g_free);
  const char *p = text, *start = NULL;

  for (;;)
    {
      gunichar c = *p ? g_utf8_get_char (p) : 0;
      gboolean word_char = c != 0 && (g_unichar_isalnum (c) || (start && (c == '\'' || c == 0x2019)));

      if (word_char && start == NULL)
        start = p;
      else if (!word_char && start != NULL)
        {
          g_ptr_array_add (words, g_utf8_strdown (start, p - start));
          start = NULL;
        }
      if (c == 0)
        break;
      p = g_utf8_next_char (p);
    }
  return words;
}

static gboolean
is_content_word (const char *word)
{
  return g_utf8_strlen (word, -1) >= 3 && !is_stop_word (word) &&
         !g_ascii_isdigit (word[0]);
}

static guint
count_words (const char *sentence)
{
  g_autoptr(GPtrArray) words = split_words (sentence);

  return words->len;
}

/* A line's Markdown prefix: heading marks, quote marks, list bullets. */
static const char *
skip_line_markup (const char *line)
{
  while (*line == ' ' || *line == '\t' || *line == '>')
    line++;
  if ((*line == '-' || *line == '*' || *line == '+') && line[1] == ' ')
    return line + 2;
  if (g_ascii_isdigit (*line))
    {
      const char *p = line;
      while (g_ascii_isdigit (*p))
        p++;
      if ((*p == '.' || *p == ')') && p[1] == ' ')
        return p + 2;
    }
  return line;
}

static gboolean
ends_sentence (const char *p)
{
  const char *next;

  if (*p != '.' && *p != '!' && *p != '?')
    return FALSE;
  next = p + 1;
  while (*next == '"' || *next == ')' || *next == '\'')
    next++;
  return *next == '\0' || *next == ' ' || *next == '\n';
}

static void
flush_paragraph (GString   *paragraph,
                 GPtrArray *sentences)
{
  const char *p = paragraph->str, *start = paragraph->str;

  for (; *p; p++)
    {
      if (!ends_sentence (p))
        continue;
      /* "e.g. ", "U. S." and "Dr. Smith": a dot after a single letter or
       * a title is not the end of a sentence. */
      if (*p == '.')
        {
          static const char * const titles[] = { "mr", "mrs", "ms", "dr", "st", "vs", "prof", "no", "fig" };
          const char *w = p;
          gboolean abbreviation = FALSE;

          while (w > start && g_ascii_isalpha (w[-1]))
            w--;
          if (p - w == 1)
            abbreviation = TRUE;
          for (guint t = 0; t < G_N_ELEMENTS (titles) && !abbreviation; t++)
            abbreviation = (gsize) (p - w) == strlen (titles[t]) &&
                           g_ascii_strncasecmp (w, titles[t], p - w) == 0;
          if (abbreviation)
            continue;
        }
      while (p[1] == '"' || p[1] == ')' || p[1] == '\'')
        p++;
      {
        g_autofree char *sentence = g_strstrip (g_strndup (start, p + 1 - start));
        if (count_words (sentence) >= MIN_WORDS)
          g_ptr_array_add (sentences, g_steal_pointer (&sentence));
      }
      start = p + 1;
    }
  {
    g_autofree char *rest = g_strstrip (g_strdup (start));
    if (count_words (rest) >= MIN_WORDS)
      g_ptr_array_add (sentences, g_steal_pointer (&rest));
  }
  g_string_truncate (paragraph, 0);
}

/**
 * aic_summary_split_sentences:
 * Splits plain text or Markdown into sentences, in order. Headings, code
 * blocks and fragments of fewer than four words are left out; list items
 * and quoted lines count as text.
 * Returns: (transfer full) (element-type utf8)
 */
GPtrArray *
aic_summary_split_sentences (const char *text)
{
  GPtrArray *sentences = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) paragraph = g_string_new (NULL);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  gboolean in_code = FALSE;
  gsize n_read = 0;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];
      const char *trimmed = line;

      n_read += strlen (line) + 1;
      while (*trimmed == ' ' || *trimmed == '\t')
        trimmed++;
      if (g_str_has_prefix (trimmed, "```") || g_str_has_prefix (trimmed, "~~~"))
        {
          flush_paragraph (paragraph, sentences);
          in_code = !in_code;
          continue;
        }
      if (in_code)
        continue;
      if (*trimmed == '\0' || *trimmed == '\r' || *trimmed == '\f' || *trimmed == '#')
        {
          flush_paragraph (paragraph, sentences);
          continue;
        }
      /* A list item starts a sentence of its own. */
      if (skip_line_markup (trimmed) != trimmed && paragraph->len > 0)
        flush_paragraph (paragraph, sentences);
      if (paragraph->len > 0)
        g_string_append_c (paragraph, ' ');
      g_string_append (paragraph, skip_line_markup (trimmed));
      /* Trailing white space of this line only: the paragraph before it
       * is clean already. */
      while (paragraph->len > 0 && g_ascii_isspace (paragraph->str[paragraph->len - 1]))
        paragraph->len--;
      paragraph->str[paragraph->len] = '\0';
    }
  flush_paragraph (paragraph, sentences);
  count_read (n_read);
  return sentences;
}

/* Cuts at a character boundary at or before @limit bytes. */
static gsize
utf8_floor (const char *text,
            gsize       limit)
{
  while (limit > 0 && (text[limit] & 0xC0) == 0x80)
    limit--;
  return limit;
}

/**
 * aic_summary_find_parts:
 * Where aic_summary_split_parts() would cut @text, without copying it:
 * each part's offset and length, surrounding white space left out, in
 * one forward pass over the text.
 * Returns: (transfer full) (element-type AicSummaryPart)
 */
GArray *
aic_summary_find_parts (const char *text,
                        gsize       max_chars)
{
  GArray *parts = g_array_new (FALSE, FALSE, sizeof (AicSummaryPart));
  const char *start = text, *p = text;
  /* The last paragraph break, ". " and space seen, where they start. */
  const char *para = NULL, *dot = NULL, *space = NULL;
  const gssize quarter = (gssize) max_chars / 4;

  g_return_val_if_fail (max_chars >= 16, parts);

  while (*start)
    {
      const char *limit = start + max_chars;
      gsize cut;

      /* Only what was not seen before: a part's candidates past the cut
       * are the next part's. */
      for (; p < limit && *p; p++)
        {
          if (*p == ' ')
            {
              space = p;
              if (p > start && p[-1] == '.')
                dot = p - 1;
            }
          else if (*p == '\n' && p > start && p[-1] == '\n')
            para = p - 1;
        }

      if (*p == '\0')
        cut = p - start;
      else if (para != NULL && para - start > quarter)
        cut = para - start + 2;
      else if (dot != NULL && dot - start > quarter)
        cut = dot - start + 2;
      else if (space != NULL && space - start > quarter)
        cut = space - start + 1;
      else
        {
          cut = utf8_floor (start, max_chars);
          if (cut == 0)
            cut = g_utf8_next_char (start) - start;
        }

      {
        AicSummaryPart part = { start - text, cut };

        while (part.length > 0 && g_ascii_isspace (text[part.offset]))
          part.offset++, part.length--;
        while (part.length > 0 && g_ascii_isspace (text[part.offset + part.length - 1]))
          part.length--;
        if (part.length > 0)
          g_array_append_val (parts, part);
      }
      start += cut;
      if (p < start)
        p = start;
    }
  count_read (p - text);
  return parts;
}

/**
 * aic_summary_split_parts:
 * Cuts @text into parts of at most @max_chars bytes, at paragraph breaks
 * where possible, else at a sentence end or a space.
 * Returns: (transfer full) (element-type utf8)
 */
GPtrArray *
aic_summary_split_parts (const char *text,
                         gsize       max_chars)
{
  g_autoptr(GArray) found = aic_summary_find_parts (text, max_chars);
  GPtrArray *parts = g_ptr_array_new_full (found->len, g_free);

  for (guint i = 0; i < found->len; i++)
    {
      const AicSummaryPart *part = &g_array_index (found, AicSummaryPart, i);

      g_ptr_array_add (parts, g_strndup (text + part->offset, part->length));
    }
  return parts;
}

/**
 * aic_summary_guess_title:
 * The first Markdown heading; else a short first line without a final
 * full stop; else the file name without its extension.
 */
char *
aic_summary_guess_title (const char *text,
                         const char *filename)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", 40);
  g_autofree char *base = NULL;
  char *dot;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);

      if (line[0] == '#')
        {
          while (*line == '#')
            line++;
          g_strstrip (line);
          if (*line)
            return g_strdup (line);
        }
    }
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];
      gsize len = strlen (line);

      if (len == 0)
        continue;
      if (g_utf8_strlen (line, -1) <= 80 && line[len - 1] != '.' && count_words (line) >= 1)
        return g_strdup (line);
      break;
    }

  base = g_path_get_basename (filename && filename[0] ? filename : "Document");
  dot = strrchr (base, '.');
  if (dot != NULL && dot != base)
    *dot = '\0';
  return g_steal_pointer (&base);
}

typedef struct
{
  guint  index;
  double score;
} Ranked;

static int
by_score (gconstpointer a,
          gconstpointer b)
{
  const Ranked *x = a, *y = b;

  if (x->score > y->score)
    return -1;
  if (x->score < y->score)
    return 1;
  return (int) x->index - (int) y->index;
}

/* Sentences' indices, best first. */
static GArray *
rank (GPtrArray *sentences)
{
  /* Keys are borrowed from word_lists, which outlives the table's use. */
  g_autoptr(GPtrArray) word_lists = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  g_autoptr(GHashTable) frequency = g_hash_table_new (g_str_hash, g_str_equal);
  GArray *ranked = g_array_sized_new (FALSE, FALSE, sizeof (Ranked), sentences->len);
  guint max_frequency = 1;

  for (guint i = 0; i < sentences->len; i++)
    {
      g_autoptr(GPtrArray) words = split_words (g_ptr_array_index (sentences, i));
      GPtrArray *content = g_ptr_array_new_with_free_func (g_free);

      /* Only content words count from here on. */
      for (guint j = 0; j < words->len; j++)
        {
          const char *word = g_ptr_array_index (words, j);
          guint n;

          if (!is_content_word (word))
            continue;
          g_ptr_array_add (content, g_steal_pointer (&words->pdata[j]));
          n = GPOINTER_TO_UINT (g_hash_table_lookup (frequency, word)) + 1;
          g_hash_table_insert (frequency, (gpointer) word, GUINT_TO_POINTER (n));
          max_frequency = MAX (max_frequency, n);
        }
      g_ptr_array_add (word_lists, content);
    }

  for (guint i = 0; i < sentences->len; i++)
    {
      GPtrArray *words = g_ptr_array_index (word_lists, i);
      g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
      Ranked entry = { i, 0.0 };
      guint content = 0;

      for (guint j = 0; j < words->len; j++)
        {
          const char *word = g_ptr_array_index (words, j);

          content++;
          if (g_hash_table_add (seen, (gpointer) word))
            entry.score += (double) GPOINTER_TO_UINT (g_hash_table_lookup (frequency, word)) / max_frequency;
        }
      if (content > 0)
        entry.score /= sqrt (content);
      if (i == 0)
        entry.score *= 1.25;
      g_array_append_val (ranked, entry);
    }

  g_array_sort (ranked, by_score);
  return ranked;
}

static int
by_index (gconstpointer a,
          gconstpointer b)
{
  return (int) ((const Ranked *) a)->index - (int) ((const Ranked *) b)->index;
}

/**
 * aic_summary_pick_sentences:
 * The @n best of @sentences, in their original order.
 * Returns: (transfer full) (element-type utf8)
 */
GPtrArray *
aic_summary_pick_sentences (GPtrArray *sentences,
                            guint      n)
{
  g_autoptr(GArray) ranked = rank (sentences);
  GPtrArray *picked = g_ptr_array_new_with_free_func (g_free);

  g_array_set_size (ranked, MIN (n, ranked->len));
  g_array_sort (ranked, by_index);
  for (guint i = 0; i < ranked->len; i++)
    g_ptr_array_add (picked, g_strdup (g_ptr_array_index (sentences, g_array_index (ranked, Ranked, i).index)));
  return picked;
}

static char *
shorten (const char *sentence,
         gsize       max_chars)
{
  gsize cut;
  const char *space;
  g_autofree char *head = NULL;

  if (strlen (sentence) <= max_chars)
    return g_strdup (sentence);
  cut = utf8_floor (sentence, max_chars);
  head = g_strndup (sentence, cut);
  space = strrchr (head, ' ');
  if (space != NULL && space - head > (gssize) max_chars / 2)
    head[space - head] = '\0';
  g_strchomp (head);
  while (head[0] && strchr (",;:", head[strlen (head) - 1]) != NULL)
    head[strlen (head) - 1] = '\0';
  return g_strconcat (head, "…", NULL);
}

/**
 * aic_summary_combine:
 * @candidates: (element-type utf8): sentences chosen from each part
 *
 * The final result: the three best candidates, in order, are the summary;
 * the next five are the key points (the summary's own sentences when
 * there are no more).
 */
AicSummary *
aic_summary_combine (GPtrArray  *candidates,
                     const char *title)
{
  g_autoptr(GArray) ranked = rank (candidates);
  g_autoptr(GArray) chosen = g_array_new (FALSE, FALSE, sizeof (Ranked));
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GStrvBuilder) points = g_strv_builder_new ();
  AicSummary *summary = g_new0 (AicSummary, 1);
  guint n_summary = MIN (SUMMARY_SENTENCES, ranked->len);

  g_array_append_vals (chosen, ranked->data, n_summary);
  g_array_sort (chosen, by_index);
  for (guint i = 0; i < chosen->len; i++)
    {
      if (i > 0)
        g_string_append_c (text, ' ');
      g_string_append (text, g_ptr_array_index (candidates, g_array_index (chosen, Ranked, i).index));
    }

  if (ranked->len > n_summary)
    {
      for (guint i = n_summary; i < ranked->len && i < n_summary + MAX_KEY_POINTS; i++)
        {
          g_autofree char *point = shorten (g_ptr_array_index (candidates, g_array_index (ranked, Ranked, i).index),
                                            KEY_POINT_CHARS);
          g_strv_builder_add (points, point);
        }
    }
  else
    {
      for (guint i = 0; i < chosen->len; i++)
        {
          g_autofree char *point = shorten (g_ptr_array_index (candidates, g_array_index (chosen, Ranked, i).index),
                                            KEY_POINT_CHARS);
          g_strv_builder_add (points, point);
        }
    }

  summary->title = g_strdup (title);
  summary->summary = g_string_free (g_steal_pointer (&text), FALSE);
  summary->key_points = g_strv_builder_end (points);
  return summary;
}

static const char *
after_label (const char *line,
             const char *label)
{
  gsize n = strlen (label);

  while (*line == '*' || *line == '#' || *line == ' ')
    line++;
  if (g_ascii_strncasecmp (line, label, n) != 0)
    return NULL;
  line += n;
  while (*line == '*' || *line == ':' || *line == ' ')
    line++;
  return line;
}

/**
 * aic_summary_parse_reply:
 * Reads a model's answer written as asked ("TITLE: …", "SUMMARY: …",
 * "KEY POINTS:" then "- " lines), forgiving Markdown emphasis and case.
 * Whatever does not fit becomes summary text, so nothing the model wrote
 * is lost.
 */
AicSummary *
aic_summary_parse_reply (const char *reply,
                         const char *fallback_title)
{
  g_auto(GStrv) lines = g_strsplit (reply, "\n", -1);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GStrvBuilder) points = g_strv_builder_new ();
  AicSummary *summary = g_new0 (AicSummary, 1);
  enum { IN_SUMMARY, IN_POINTS } where = IN_SUMMARY;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);
      const char *value;

      if ((value = after_label (line, "title")) != NULL && summary->title == NULL)
        summary->title = g_strdup (value);
      else if ((value = after_label (line, "summary")) != NULL)
        {
          where = IN_SUMMARY;
          if (*value)
            g_string_append_printf (text, "%s%s", text->len ? " " : "", value);
        }
      else if ((value = after_label (line, "key points")) != NULL)
        where = IN_POINTS;
      else if (where == IN_POINTS && (line[0] == '-' || line[0] == '*' || g_str_has_prefix (line, "•")))
        {
          const char *item = skip_line_markup (line);
          if (g_str_has_prefix (item, "•"))
            item += strlen ("•");
          while (*item == ' ')
            item++;
          if (*item)
            g_strv_builder_add (points, item);
        }
      else if (*line)
        g_string_append_printf (text, "%s%s", text->len ? " " : "", line);
    }

  if (summary->title == NULL || summary->title[0] == '\0')
    {
      g_free (summary->title);
      summary->title = g_strdup (fallback_title);
    }
  summary->summary = g_string_free (g_steal_pointer (&text), FALSE);
  summary->key_points = g_strv_builder_end (points);
  return summary;
}
