/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "aic-job-manager.h"

G_BEGIN_DECLS

#define AIC_TYPE_DOCUMENTS_PAGE (aic_documents_page_get_type ())

G_DECLARE_FINAL_TYPE (AicDocumentsPage, aic_documents_page, AIC, DOCUMENTS_PAGE, GtkWidget)

void     aic_documents_page_set_manager (AicDocumentsPage *self,
                                         AicJobManager    *manager);
void     aic_documents_page_add_files   (AicDocumentsPage *self,
                                         GListModel       *files);
void     aic_documents_page_select_job  (AicDocumentsPage *self,
                                         AicJob           *job);
AicJob  *aic_documents_page_get_selected (AicDocumentsPage *self);
void     aic_documents_page_export_to   (AicDocumentsPage *self,
                                         GFile            *file);
char    *aic_job_dup_status_text        (AicJob           *job);

G_END_DECLS
