/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "aic-documents-page.h"
#include "aic-session.h"

G_BEGIN_DECLS

#define AIC_TYPE_WINDOW (aic_window_get_type ())

G_DECLARE_FINAL_TYPE (AicWindow, aic_window, AIC, WINDOW, AdwApplicationWindow)

AicWindow  *aic_window_new         (GtkApplication *application,
                                    AicSession     *session,
                                    GSettings      *settings,
                                    const char     *store_error);
void        aic_window_show_error  (AicWindow      *self,
                                    const char     *message);
void        aic_window_show_view   (AicWindow      *self,
                                    const char     *name);
const char *aic_window_get_view    (AicWindow      *self);
void        aic_window_open_documents (AicWindow   *self,
                                    GListModel     *files);
AicDocumentsPage *aic_window_get_documents_page (AicWindow *self);

G_END_DECLS
